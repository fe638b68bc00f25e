// The API client: every call carries the key the user typed; errors become ApiFailure
// with the API's own message (its one error shape) and request id.

export class ApiFailure extends Error {
  constructor(status, message, requestId) {
    super(message);
    this.status = status;
    this.requestId = requestId;
  }
}

export class Api {
  constructor(baseUrl, key) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.key = key;
  }

  url(path, params) {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(params || {})) {
      if (value === null || value === undefined || value === "") continue;
      url.searchParams.set(name, value);
    }
    return url.toString();
  }

  async send(method, path, { json, form, params } = {}) {
    const headers = { Authorization: `Bearer ${this.key}` };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    let response;
    try {
      response = await fetch(this.url(path, params), { method, headers, body });
    } catch (err) {
      throw new ApiFailure(0, `The API at ${this.baseUrl} cannot be reached (${err.message}).`);
    }
    if (!response.ok) throw await failure(response);
    return response;
  }

  async json(method, path, options) {
    return (await this.send(method, path, options)).json();
  }

  get(path, params) {
    return this.json("GET", path, { params });
  }

  /** POST /v1/query/stream, calling onEvent(name, data) for each Server-Sent Event. */
  async stream(path, json, onEvent) {
    const response = await this.send("POST", path, { json });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event) onEvent(event.name, event.data);
      }
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trim());
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

async function failure(response) {
  let message = `The API answered ${response.status}.`;
  let requestId = response.headers.get("X-Request-ID");
  try {
    const body = await response.json();
    message = body.error.message;
    requestId = body.error.request_id || requestId;
  } catch (_err) {
    // not the API's error shape (a proxy?): keep the status line
  }
  return new ApiFailure(response.status, message, requestId);
}
