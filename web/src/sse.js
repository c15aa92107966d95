// Server-Sent Events over fetch: EventSource cannot send an Authorization
// header, so the stream is read with fetch and parsed here
// (https://html.spec.whatwg.org/multipage/server-sent-events.html).

/** A parser: feed it text as it arrives; it calls `onEvent({id, event, data})` per dispatched event. */
export function sseParser(onEvent) {
  let buffer = "";
  let data = [];
  let event = "";
  let lastId = null;
  const line = (text) => {
    if (text === "") {
      if (data.length) {
        onEvent({ id: lastId, event: event || "message", data: data.join("\n") });
      }
      data = [];
      event = "";
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\0")) lastId = value;
  };
  return {
    feed(chunk) {
      buffer += chunk;
      // A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
      const hold = buffer.endsWith("\r") ? "\r" : "";
      if (hold) buffer = buffer.slice(0, -1);
      const parts = buffer.split(/\r\n|\r|\n/);
      buffer = parts.pop() + hold;
      for (const p of parts) line(p);
    },
    get lastEventId() {
      return lastId;
    },
  };
}

/**
 * Read `url` as an event stream with `headers` until `signal` aborts; reconnects
 * after errors with Last-Event-ID. Returns a promise that settles when aborted.
 */
export async function stream(url, { headers = {}, signal, onEvent, onState = () => {}, after = null, retryMs = 2000 }) {
  let last = after;
  while (!signal.aborted) {
    try {
      const h = { ...headers, Accept: "text/event-stream" };
      if (last !== null) h["Last-Event-ID"] = String(last);
      const res = await fetch(url, { headers: h, signal, cache: "no-store" });
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      onState("live");
      const parser = sseParser((e) => {
        last = e.id ?? last;
        onEvent(e);
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      onState("reconnecting");
    } catch (err) {
      if (signal.aborted) break;
      onState("reconnecting", err);
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
}
