// The official JavaScript SDK against the mock, over its WebSocket: only the URL differs from production.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Runware } from "@runware/sdk-js";

import { apiKey, control, freshMock, sampleMedia } from "../mock.js";

let runware;

before(async () => {
  await freshMock();
  runware = await Runware.initialize({ apiKey, url: control.websocketUrl }); // wss://ws-api.runware.ai/v1 for real
});

after(() => runware?.disconnect());

async function upload(name) {
  const media = Buffer.from(await sampleMedia(name)).toString("base64");
  return (await runware.mediaStorage({ media })).mediaUUID;
}

test("the SDK submits a lip-sync task over the WebSocket and gets its result", async () => {
  const video = await upload("speaker.mp4");
  const audio = await upload("voice.wav");

  const [result] = await runware.videoInference({
    model: "sync:lipsync-2@1",
    inputs: { video, audio },
    providerSettings: { sync: { syncMode: "cut_off" } },
    includeCost: true,
  });

  assert.equal(result.status, "success");
  assert.equal(result.cost, 0.044); // $0.044 per second of output, 1 s here
  const file = new Uint8Array(await (await fetch(result.videoURL)).arrayBuffer());
  assert.equal(new TextDecoder().decode(file.subarray(4, 8)), "ftyp"); // an MP4 file

  // The journal: what the SDK sent — the task as submitted, then its polls.
  const [submission, ...polls] = await control.requests({ taskUUID: result.taskUUID });
  assert.deepEqual(submission.request, [
    {
      taskType: "videoInference",
      taskUUID: result.taskUUID,
      model: "sync:lipsync-2@1",
      inputs: { video, audio },
      providerSettings: { sync: { syncMode: "cut_off" } },
      includeCost: true,
      deliveryMethod: "async",
    },
  ]);
  assert.ok(polls.length >= 1);
  for (const poll of polls) {
    assert.deepEqual(poll.request, [{ taskType: "getResponse", taskUUID: result.taskUUID }]);
  }
});

test("a task that fails reaches the SDK as the task's error", async () => {
  await control.addFault("fail_after_polls=1; code=timeoutProvider", { taskType: "videoInference", times: 1 });
  const video = await upload("speaker.mp4");
  const audio = await upload("voice.wav");

  await assert.rejects(
    runware.videoInference({ model: "sync:lipsync-2@1", inputs: { video, audio } }),
    (rejection) => rejection.error?.code === "timeoutProvider" && rejection.error?.status === "error",
  );
});
