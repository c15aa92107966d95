// The HTTP API as the map uses it: a bearer token on every request, JSON both ways,
// an RFC 9457 problem turned into an ApiError naming what went wrong, and every
// page of a paged list. No DOM: unit-tested against a real HTTP server.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * `token()` gives the token of the moment; `onUnauthorized(path)` is told of a 401
 * (a token revoked or expired while signed in). `base` prefixes every path (the page's
 * own origin when empty).
 */
/** How many times a request refused for now (429, or 503 for a read) is asked again. */
export const RETRIES = 5;
/** The longest wait between two such attempts, whatever Retry-After says. */
export const RETRY_MAX_MS = 10_000;

function retryable(status, method) {
  return status === 429 || (status === 503 && method === "GET");
}

/** Retry-After in seconds (the service sends seconds), bounded; 1 s when absent. */
export function retryAfterMs(header) {
  const seconds = header === null || header === "" ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, RETRY_MAX_MS) : 1000;
}

export function createApi({ token, onUnauthorized = () => {}, base = "", retries = RETRIES }) {
  async function once(path, method, body, headers) {
    const h = { Authorization: `Bearer ${token()}`, Accept: "application/json", ...headers };
    if (body !== undefined) h["Content-Type"] = "application/json";
    return fetch(`${base}${path}`, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  }

  async function apiResponse(path, { method = "GET", body, headers = {} } = {}) {
    let res = await once(path, method, body, headers);
    // A 429 (a party's costly reads wait their turn: a map of many users of one party
    // may meet it) was refused before any work, so it is always safe to ask again; a
    // 503 only for a read (a write may have been taken before the answer was lost).
    for (let attempt = 0; attempt < retries && retryable(res.status, method); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, retryAfterMs(res.headers.get("Retry-After"))));
      res = await once(path, method, body, headers);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text };
    }
    if (!res.ok) {
      if (res.status === 401) onUnauthorized(path);
      throw new ApiError(res.status, data);
    }
    return { data, headers: res.headers };
  }

  async function api(path, options = {}) {
    return (await apiResponse(path, options)).data;
  }

  /**
   * Every page of a paged list (GET /v1/declarations answers a page at a time, the
   * next page's cursor in X-Next-Cursor): a picture of more than one page is whole.
   */
  async function apiAll(path) {
    const out = [];
    let cursor = null;
    for (;;) {
      const sep = path.includes("?") ? "&" : "?";
      const { data, headers } = await apiResponse(cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`);
      out.push(...data);
      cursor = headers.get("X-Next-Cursor");
      if (!cursor) return out;
    }
  }

  return { api, apiAll, apiResponse };
}
