// The control API of lipsync-mock (/__mock/), for JavaScript: a thin wrapper with no dependencies (Node 18+, or
// any runtime with fetch). The mock serves this file at GET /__mock/client.mjs; load it from the mock you test
// against, so it always matches that mock:
//
//   const source = await (await fetch(`${base}/__mock/client.mjs`)).text();
//   const { MockControl } = await import(`data:text/javascript,${encodeURIComponent(source)}`);
//   const control = new MockControl(base);   // { token } for --control-token, { namespace } for X-Mock-Namespace
//   await control.reset();
//   await control.addFault("status=503", { taskType: "getResponse", times: 1 });
//
// Each method is one call of the control API (docs/faults.md lists them); the mock checks every value and a
// refusal rejects with a ControlError holding the mock's errors envelope. The same operations as the Python
// client, mock_server.testing.MockControl.

export class ControlError extends Error {
  constructor(status, body) {
    const error = body?.errors?.[0];
    const detail = error ? `${error.code}${error.parameter ? ` (${error.parameter})` : ""}: ${error.message}` : "";
    super(`the mock's control API answered HTTP ${status}${detail ? ` ${detail}` : ""}`);
    this.name = "ControlError";
    this.status = status;
    this.body = body;
  }
}

export class MockControl {
  /** `baseUrl`: where the mock runs, e.g. http://127.0.0.1:8080 (no /v1). */
  constructor(baseUrl, { token, namespace, timeout = 10_000 } = {}) {
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.token = token; // for a mock started with --control-token
    this.namespace = namespace; // see and change only this namespace's work (X-Mock-Namespace)
    this.timeout = timeout; // milliseconds per call
  }

  /** The task endpoint a REST client is pointed at (what is https://api.runware.ai/v1 for real). */
  get apiUrl() {
    return `${this.baseUrl}/v1`;
  }

  /** The WebSocket an SDK is pointed at (what is wss://ws-api.runware.ai/v1 for real). */
  get websocketUrl() {
    return `${this.baseUrl.replace(/^http/, "ws")}/v1`;
  }

  /** A sample file the mock ships ("speaker.mp4", "voice.wav", "voice-2.5s.wav", "voice-0.5s.wav"). */
  mediaUrl(name) {
    return `${this.baseUrl}/__mock/media/${encodeURIComponent(name)}`;
  }

  /** Forget every task, upload, journal entry, lifecycle choice and fault rule. */
  reset() {
    return this.#call("POST", "/reset");
  }

  /** Make the UUIDs, seeds and random faults that follow reproducible. */
  seed(seed) {
    return this.#call("POST", "/seed", { seed });
  }

  /** The request journal, oldest first: `{id, request, status, response, outcome, receivedAt}`; `outcome` keeps
   * one kind ("ok", "refused", "fault", "failed"), `limit` the newest N. */
  requests({ taskUUID, outcome, limit } = {}) {
    return this.#call("GET", `/requests${query({ taskUUID, outcome, limit })}`);
  }

  /** The videoInference tasks, newest first, with status, results and timeline. */
  tasks({ limit } = {}) {
    return this.#call("GET", `/tasks${query({ limit })}`);
  }

  /** Webhook and upload attempts, oldest first: `{kind, url, attempt, status, error, at}`. */
  deliveries({ taskUUID } = {}) {
    return this.#call("GET", `/deliveries${query({ taskUUID })}`);
  }

  /** When results are ready: "rate", "immediate", "after" (`seconds`), "polls" (`polls`) or "manual"; for every
   * task, or for `taskUUID`. */
  setLifecycle(mode, { seconds, polls, taskUUID } = {}) {
    return this.#call("PUT", "/lifecycle", { mode, seconds, polls, taskUUID });
  }

  /** Make a task's results ready now (the "manual" and "polls" lifecycles). */
  complete(taskUUID) {
    return this.#call("POST", `/tasks/${encodeURIComponent(taskUUID)}/complete`);
  }

  /** Seconds of simulated processing per second of output video. */
  async processingRate() {
    return (await this.#call("GET", "/processing-rate")).rate;
  }

  setProcessingRate(rate) {
    return this.#call("PUT", "/processing-rate", { rate });
  }

  /** Inject `fault` ("status=503", "rate_limit; retry_after=1", "fail_after_polls=1; code=timeoutProvider", ...)
   * into requests holding a matching task, `times` times or always. Answers the rule. */
  addFault(fault, { taskUUID, taskType, times } = {}) {
    return this.#call("POST", "/faults", { fault, taskUUID, taskType, times });
  }

  faults() {
    return this.#call("GET", "/faults");
  }

  clearFaults() {
    return this.#call("DELETE", "/faults");
  }

  /** The USD an account holds (null: unlimited): the account of `apiKey`, or without one every account of the
   * namespace and those made later. */
  setBalance(amount, { apiKey } = {}) {
    return this.#call("PUT", "/balance", { amount }, apiKey);
  }

  /** What the account of `apiKey` has left (null: unlimited); without a key, the one account used so far. */
  async balance({ apiKey } = {}) {
    return (await this.#call("GET", "/balance", undefined, apiKey)).balance;
  }

  /** `{startingBalance, accounts}`: the accounts used so far, by key digest. */
  accounts() {
    return this.#call("GET", "/accounts");
  }

  async #call(method, path, body, apiKey) {
    // Every control write is JSON: the mock refuses any other (a web page cannot send one cross-origin).
    const headers = { "Content-Type": "application/json" };
    if (apiKey !== undefined) headers.Authorization = `Bearer ${apiKey}`;
    if (this.token !== undefined) headers["X-Mock-Control-Token"] = this.token;
    if (this.namespace !== undefined) headers["X-Mock-Namespace"] = this.namespace;
    const response = await fetch(`${this.baseUrl}/__mock${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body), // undefined fields are left out
      signal: AbortSignal.timeout(this.timeout),
    });
    const text = await response.text();
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new ControlError(response.status, text); // not the mock's control API answering
    }
    if (!response.ok) throw new ControlError(response.status, answer);
    return answer;
  }
}

function query(parameters) {
  const given = Object.entries(parameters).filter(([, value]) => value !== undefined);
  return given.length ? `?${new URLSearchParams(given)}` : "";
}
