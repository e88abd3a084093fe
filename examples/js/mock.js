// Where the mock is, and its control-API client, loaded from the mock itself.
//
// The suite runs against any running mock: `lipsync-mock` on this machine, a container, a CI service. It reads
// LIPSYNC_MOCK_URL (default http://127.0.0.1:8080), and the variables the mock itself is configured with:
// LIPSYNC_MOCK_API_KEYS (the first key is used; with none the mock accepts any key) and
// LIPSYNC_MOCK_CONTROL_TOKEN (for a mock started with --control-token).

export const baseUrl = (process.env.LIPSYNC_MOCK_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
export const apiKey = process.env.LIPSYNC_MOCK_API_KEYS?.split(",")[0] || "any-key";
const token = process.env.LIPSYNC_MOCK_CONTROL_TOKEN || undefined;

// The client is served by the mock at /__mock/client.mjs. Node imports modules from files and data: URLs, not
// from http: URLs, so the text is fetched and imported from a data: URL (it has no imports of its own).
const script = await fetch(`${baseUrl}/__mock/client.mjs`).catch((error) => {
  throw new Error(`no mock answers at ${baseUrl} (set LIPSYNC_MOCK_URL): ${error.cause?.message ?? error}`);
});
if (!script.ok) throw new Error(`${baseUrl} serves no control API (HTTP ${script.status}): is it run with --no-control?`);
const source = await script.text();
const { MockControl, ControlError } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

export { ControlError, MockControl };
export const control = new MockControl(baseUrl, { token });

/** The bytes of a sample file the mock ships ("speaker.mp4", "voice.wav", ...), to upload as a user's media. */
export async function sampleMedia(name) {
  const response = await fetch(control.mediaUrl(name));
  if (!response.ok) throw new Error(`no sample media ${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Back to a fresh mock before each test: no tasks, journal, faults or lifecycle rules; results ready at the
 * first poll. */
export async function freshMock() {
  await control.reset();
  await control.setProcessingRate(0);
}
