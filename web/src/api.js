// The server's JSON API, with the key the visitor typed (kept for this tab only).
const KEY = "reckon.key";

export const getKey = () => sessionStorage.getItem(KEY) || "";
export const setKey = (k) => (k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY));

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "unreachable", `the server did not answer (${e.message})`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = json && json.error ? json.error : { code: "http_" + res.status, message: text.slice(0, 200) };
    throw new ApiError(res.status, err.code, err.message);
  }
  return json;
}

export const q = (params) =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");

export const seg = encodeURIComponent;

// The server's description (/health), fetched once per page load and on demand.
let health = null;
export async function serverInfo(refresh = false) {
  if (!health || refresh) health = await api("/health");
  return health;
}

// Whether the served model explains its scores (/health says): pages ask for explanations only
// then, since asking another model is a 422.
export async function modelExplains() {
  try {
    return !!(await serverInfo()).explains;
  } catch {
    return false;
  }
}

// What a write answered when it needs a key the visitor has not given.
export function explainWriteError(e) {
  if (e.status === 401) return "This needs the admin key: type it at the top right.";
  if (e.status === 403) return "Refused: " + e.message;
  return e.message;
}
