// Stands in for your own code: a small REST client for lip-sync tasks, written with fetch. It uploads media,
// submits a task, polls until the task is done (retrying 408, 429 and 5xx answers, as the official SDKs do) and
// downloads the result. The tests point it at the mock instead of https://api.runware.ai/v1.

export class TaskFailed extends Error {
  constructor(error) {
    super(`the task failed: ${error.code}: ${error.message}`);
    this.name = "TaskFailed";
    this.error = error;
  }
}

const RETRIED = new Set([408, 429, 500, 502, 503, 504]);

export class DubbingClient {
  constructor(apiUrl, apiKey, { attempts = 3, retryDelay = 100, pollInterval = 200 } = {}) {
    this.apiUrl = apiUrl;
    this.apiKey = apiKey;
    this.attempts = attempts; // tries per request in all
    this.retryDelay = retryDelay; // milliseconds, unless the answer says Retry-After
    this.pollInterval = pollInterval; // milliseconds between polls of a task still processing
  }

  /** Sends a task array; answers the body of the first answer that is not retried. */
  async call(tasks) {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(this.apiUrl, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.apiKey}`, "Content-Type": "application/json" },
        body: JSON.stringify(tasks),
      });
      if (!RETRIED.has(response.status) || attempt === this.attempts) {
        return { status: response.status, body: await response.json() };
      }
      await response.arrayBuffer(); // read to the end: the connection goes back to the pool
      const retryAfter = Number(response.headers.get("Retry-After"));
      await sleep(retryAfter > 0 ? retryAfter * 1000 : this.retryDelay);
    }
  }

  /** Uploads media (bytes) to the platform's storage; answers its mediaUUID. */
  async upload(bytes) {
    const task = {
      taskType: "mediaStorage",
      taskUUID: crypto.randomUUID(),
      operation: "upload",
      media: Buffer.from(bytes).toString("base64"),
    };
    const { body } = await this.call([task]);
    if (body.errors?.length) throw new TaskFailed(body.errors[0]);
    return body.data[0].mediaUUID;
  }

  /** Submits a lip-sync task; answers its taskUUID. */
  async lipsync({ video, audio, webhookURL, ...parameters }) {
    const task = {
      taskType: "videoInference",
      taskUUID: crypto.randomUUID(),
      model: "sync:lipsync-2@1",
      inputs: { video, audio },
      ...(webhookURL ? { webhookURL } : {}),
      ...parameters,
    };
    const { body } = await this.call([task]);
    if (body.errors?.length) throw new TaskFailed(body.errors[0]);
    return task.taskUUID;
  }

  /** Polls until the task is done: answers its success item, or throws TaskFailed. */
  async result(taskUUID, { timeout = 30_000 } = {}) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const { body } = await this.call([{ taskType: "getResponse", taskUUID }]);
      if (body.errors?.length) throw new TaskFailed(body.errors[0]);
      const item = body.data.find((each) => each.taskUUID === taskUUID);
      if (item?.status === "success") return item;
      await sleep(this.pollInterval);
    }
    throw new Error(`task ${taskUUID} was not done within ${timeout} ms`);
  }

  /** The result file's bytes. */
  async download(videoURL) {
    const response = await fetch(videoURL);
    if (!response.ok) throw new Error(`downloading ${videoURL}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}

function sleep(milliseconds) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
