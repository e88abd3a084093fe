// The control API from JavaScript: faults injected on purpose, the lifecycle, the balance — and what the client
// under test (../dubbing-client.js) did about them.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { beforeEach, test } from "node:test";

import { DubbingClient, TaskFailed } from "../dubbing-client.js";
import { ControlError, apiKey, control, freshMock, sampleMedia } from "../mock.js";

beforeEach(freshMock);

async function submitted(client, parameters = {}) {
  const video = await client.upload(await sampleMedia("speaker.mp4"));
  const audio = await client.upload(await sampleMedia("voice.wav"));
  return client.lipsync({ video, audio, ...parameters });
}

test("a 503 on the next poll: the client retries it and gets the result", async () => {
  const client = new DubbingClient(control.apiUrl, apiKey);
  const taskUUID = await submitted(client);
  await control.addFault("status=503", { taskType: "getResponse", times: 1 });

  const result = await client.result(taskUUID);

  assert.equal(result.status, "success");
  const outcomes = (await control.requests({ taskUUID })).map((entry) => [entry.request[0].taskType, entry.status]);
  assert.deepEqual(outcomes, [
    ["videoInference", 200],
    ["getResponse", 503], // the injected fault
    ["getResponse", 200], // the client's retry
  ]);
  assert.deepEqual(await control.faults(), []); // the rule was used up
});

test("a task that fails: the client reports the task's error and stops polling", async () => {
  await control.addFault("fail_after_polls=1; code=timeoutProvider", { taskType: "videoInference", times: 1 });
  const client = new DubbingClient(control.apiUrl, apiKey);
  const taskUUID = await submitted(client);

  await assert.rejects(
    client.result(taskUUID),
    (error) => error instanceof TaskFailed && error.error.code === "timeoutProvider",
  );
  const polls = (await control.requests({ taskUUID })).filter((entry) => entry.request[0].taskType === "getResponse");
  assert.deepEqual(
    polls.map((poll) => [poll.status, poll.outcome]),
    [[400, "failed"]], // one poll: a failed task is not polled again
  );
});

test("a webhook refused once is retried by the mock until the receiver takes it", async (t) => {
  // The receiver: a small HTTP server on loopback that answers 503 to the first delivery, 200 to the next.
  const bodies = [];
  const receiver = createServer(async (request, response) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    bodies.push(JSON.parse(text));
    response.writeHead(bodies.length === 1 ? 503 : 200).end();
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  t.after(() => receiver.close());
  const webhookURL = `http://127.0.0.1:${receiver.address().port}/runware-webhook?job=42`;

  const client = new DubbingClient(control.apiUrl, apiKey);
  const taskUUID = await submitted(client, { webhookURL });

  const attempts = await settled(() => control.deliveries({ taskUUID }), (made) => made.length === 2);
  assert.deepEqual(
    attempts.map((attempt) => [attempt.kind, attempt.attempt, attempt.status, attempt.url]),
    [
      ["webhook", 1, 503, webhookURL],
      ["webhook", 2, 200, webhookURL],
    ],
  );
  assert.equal(bodies.length, 2);
  assert.deepEqual(bodies[1], bodies[0]); // the same result, sent again
  assert.equal(bodies[1].data[0].taskUUID, taskUUID);
  assert.equal(bodies[1].data[0].status, "success");
});

test("the manual lifecycle: a task stays processing until the test completes it", async () => {
  await control.setLifecycle("manual");
  const client = new DubbingClient(control.apiUrl, apiKey);
  const taskUUID = await submitted(client);

  const { body } = await client.call([{ taskType: "getResponse", taskUUID }]);
  assert.equal(body.data[0].status, "processing");
  await control.complete(taskUUID);
  assert.equal((await client.result(taskUUID)).status, "success");
});

test("the balance: below $5 a video task is refused", async () => {
  await control.setBalance(4.99);
  const client = new DubbingClient(control.apiUrl, apiKey);

  await assert.rejects(submitted(client), (error) => error.error.code === "videoInferenceInsufficientCredits");
  assert.equal(await control.balance({ apiKey }), 4.99);
});

test("the processing rate is read back as set", async () => {
  await control.setProcessingRate(0.25);
  assert.equal(await control.processingRate(), 0.25);
});

test("a control call the mock refuses rejects with its error", async () => {
  await assert.rejects(
    control.addFault("status=418"),
    (error) => error instanceof ControlError && error.status === 400 && error.body.errors[0].parameter === "fault",
  );
});

/** Calls `read` until `done` holds for its answer (the mock journals a delivery once it has been answered). */
async function settled(read, done, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not settled within ${timeout} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
