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
export function createApi({ token, onUnauthorized = () => {}, base = "" }) {
  async function apiResponse(path, { method = "GET", body, headers = {} } = {}) {
    const h = { Authorization: `Bearer ${token()}`, Accept: "application/json", ...headers };
    if (body !== undefined) h["Content-Type"] = "application/json";
    const res = await fetch(`${base}${path}`, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
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
