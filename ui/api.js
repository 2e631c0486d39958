// The REST API, called with the bearer token of this tab.
//
// The token lives in sessionStorage only: this tab, until it closes or
// "Sign out". It is never put in a URL, a cookie or localStorage, and it is
// sent only to this origin (relative URLs, credentials omitted, redirects
// refused).

const TOKEN_KEY = 'backstop.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// A refusal or failure: `code` is the API's error code (or "unreachable",
// "http_<status>"), `message` its message.
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

let unauthorizedHandler = () => {};

// Called on any 401: the app drops the token and shows the prompt.
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

export async function api(method, path, body) {
  const token = getToken();
  if (!token) {
    // Signed out while a refresh was under way: the prompt is already shown.
    throw new ApiError(401, 'unauthorized', 'no token');
  }
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', `Backstop did not answer (${e.message}).`);
  }
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (res.status === 401) {
    const message = (data && data.error && data.error.message) || 'the token was refused';
    unauthorizedHandler(`The token was refused (${message}). Enter a valid token.`);
    throw new ApiError(401, 'unauthorized', message);
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || res.statusText, err.details);
  }
  return data;
}

// Builds "/v1/path?k=v" from the non-empty entries of `params`.
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}

export function path(...parts) {
  return parts.map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}
