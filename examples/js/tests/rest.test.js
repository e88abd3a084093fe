// A REST client of your own (../dubbing-client.js, written with fetch) against the mock: submit, poll, download,
// and the request journal read back to assert what the client sent.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { DubbingClient } from "../dubbing-client.js";
import { apiKey, control, freshMock, sampleMedia } from "../mock.js";

beforeEach(freshMock);

test("a lip-sync task is submitted, polled until done, and its video downloaded", async () => {
  const client = new DubbingClient(control.apiUrl, apiKey);
  const video = await client.upload(await sampleMedia("speaker.mp4"));
  const audio = await client.upload(await sampleMedia("voice.wav"));

  const taskUUID = await client.lipsync({ video, audio, outputFormat: "MP4", includeCost: true });
  const result = await client.result(taskUUID);
  const file = await client.download(result.videoURL);

  assert.equal(result.cost, 0.044);
  assert.equal(new TextDecoder().decode(file.subarray(4, 8)), "ftyp"); // an MP4 file
  assert.ok(file.length > 1000);
});

test("the journal shows what the client sent, and that nothing was refused", async () => {
  const client = new DubbingClient(control.apiUrl, apiKey);
  const video = await client.upload(await sampleMedia("speaker.mp4"));
  const audio = await client.upload(await sampleMedia("voice.wav"));
  const taskUUID = await client.lipsync({ video, audio, providerSettings: { sync: { syncMode: "bounce" } } });
  await client.result(taskUUID);

  const [submission, ...polls] = await control.requests({ taskUUID });
  assert.deepEqual(submission.request, [
    {
      taskType: "videoInference",
      taskUUID,
      model: "sync:lipsync-2@1",
      inputs: { video, audio },
      providerSettings: { sync: { syncMode: "bounce" } },
    },
  ]);
  assert.equal(submission.status, 200);
  assert.deepEqual(
    polls.map((poll) => [poll.request[0].taskType, poll.outcome]),
    [["getResponse", "ok"]], // done at the first poll: the mock runs with processing rate 0 here
  );
  assert.deepEqual(await control.requests({ outcome: "refused" }), []);
});

test("a task the mock refuses is journaled with the parameter it names", async () => {
  const client = new DubbingClient(control.apiUrl, apiKey);
  const video = await client.upload(await sampleMedia("speaker.mp4"));

  await assert.rejects(
    client.lipsync({ video, providerSettings: { sync: { temperature: 0.505 } } }),
    (error) => error.error.code === "invalidTemperature",
  );
  const [refused] = await control.requests({ outcome: "refused" });
  assert.equal(refused.status, 400);
  assert.equal(refused.response.errors[0].parameter, "providerSettings.sync.temperature");
});
