// ringlog serve's live page: follows the ring through the server-sent
// events of /records and shows each record as text (textContent only:
// nothing from a record is ever parsed as HTML).
//
// Page parameters: ?from=oldest|newest|SEQ (where the first stream
// starts, passed on to /records) and ?keep=N (records kept in the page,
// default 10000).
"use strict";

(() => {
  const params = new URLSearchParams(location.search);
  const KEEP = intParam("keep", 10000, 1, 1000000);
  const FROM = params.get("from");
  const STAT_EVERY_MS = 2000;
  const RETRY_MIN_MS = 500;
  const RETRY_MAX_MS = 5000;
  const CHUNK = 100; // rows in a div.chunk

  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const filterBox = $("filter");
  const regexBox = $("regex");
  const pauseButton = $("pause");
  const jump = $("jump");
  const status = $("status");
  const counts = $("counts");

  let source = null; // the EventSource
  let retryTimer = 0;
  let retryMs = RETRY_MIN_MS;
  let ended = false; // the ring is closed and every record was received
  let lastSeq = -1; // the newest seq received: later ones only (no duplicates)
  let pendingLost = 0; // from an `event: lost`, for the record after it
  let queue = []; // received, not yet in the page: {seq, text, lost}
  let frame = 0; // the requestAnimationFrame scheduled, or 0
  let paused = false;
  let stick = true; // follow the newest record (the view is at the bottom)
  let matcher = null; // (text) => bool, or null: show everything
  let rows = 0; // .rec elements in #log (in its div.chunk)
  let shown = 0; // of which match the filter
  let received = 0;
  let lostTotal = 0;
  let duplicates = 0;
  let trimmed = 0;

  function intParam(name, dflt, min, max) {
    const v = Number(params.get(name));
    return Number.isInteger(v) && v >= min && v <= max ? v : dflt;
  }

  // ---- the stream -------------------------------------------------------

  // The stream's URL: after a record, resume after it. (An EventSource
  // that reconnects by itself sends Last-Event-ID, which the server
  // prefers to ?from; this URL is for a new EventSource.)
  function streamUrl() {
    if (lastSeq >= 0) return "records?from=" + (lastSeq + 1);
    return FROM ? "records?from=" + encodeURIComponent(FROM) : "records";
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    ended = false;
    setStatus("connecting", "connecting");
    const es = new EventSource(streamUrl());
    source = es;
    es.onopen = () => {
      retryMs = RETRY_MIN_MS;
      setStatus();
    };
    es.onmessage = onRecord;
    es.addEventListener("lost", (e) => {
      const n = parseInt(e.data, 10);
      if (n > 0) pendingLost += n;
    });
    es.addEventListener("end", () => {
      // The ring is closed and drained: no reconnecting (the server would
      // answer 204 anyway).
      es.close();
      source = null;
      ended = true;
      setStatus("closed", "ring closed");
    });
    es.onerror = () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CONNECTING) {
        // The stream was cut (the server stopped): the EventSource
        // reconnects by itself, with Last-Event-ID.
        setStatus("connecting", "reconnecting");
        return;
      }
      // It gave up: a 204 (the ring is closed and nothing is left), an
      // error status (503: no reader slot) or no server at all.
      es.close();
      source = null;
      fetchStat().then(
        (s) => (s.closed ? closedRing() : retryLater()),
        () => retryLater(),
      );
    };
  }

  function closedRing() {
    ended = true;
    setStatus("closed", "ring closed");
  }

  function retryLater() {
    setStatus("down", "server unreachable, retrying");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  }

  function onRecord(e) {
    const seq = Number(e.lastEventId);
    if (!(seq > lastSeq)) {
      duplicates++; // a resume that overlapped: already shown
      return;
    }
    lastSeq = seq;
    received++;
    const lost = pendingLost;
    pendingLost = 0;
    lostTotal += lost;
    queue.push({ seq, text: e.data, lost });
    if (queue.length >= 2 * KEEP) {
      // Paused, or the tab is hidden (no animation frames): only the
      // newest KEEP could be shown anyway.
      trimmed += queue.length - KEEP;
      queue = queue.slice(queue.length - KEEP);
    }
    if (paused) countsSoon();
    else schedule();
  }

  // ---- the view ----------------------------------------------------------

  function schedule() {
    if (!frame && !paused) frame = requestAnimationFrame(render);
  }

  // Appends what arrived since the last frame in one go, drops the oldest
  // rows past KEEP, and follows the bottom unless the user scrolled up.
  //
  // Rows live in chunks of CHUNK (div.chunk): the browser skips the
  // chunks out of view (content-visibility in app.css), so a frame costs
  // about the same with 100 or 10,000 rows in the page.
  function render() {
    frame = 0;
    if (paused || queue.length === 0) return;
    let batch = queue;
    queue = [];
    if (batch.length > KEEP) {
      trimmed += batch.length - KEEP;
      batch = batch.slice(batch.length - KEEP);
    }
    let chunk = log.lastElementChild;
    let i = 0;
    while (i < batch.length) {
      if (!chunk || chunk.childElementCount >= CHUNK) {
        chunk = document.createElement("div");
        chunk.className = "chunk";
        log.appendChild(chunk);
      }
      const n = Math.min(CHUNK - chunk.childElementCount, batch.length - i);
      const frag = document.createDocumentFragment();
      for (const end = i + n; i < end; i++) frag.appendChild(makeRow(batch[i]));
      chunk.appendChild(frag);
    }
    rows += batch.length;
    if (rows > KEEP) trimTop(rows - KEEP);
    if (stick) log.scrollTop = log.scrollHeight;
    else jump.hidden = false;
    updateCounts();
  }

  function makeRow(r) {
    const row = document.createElement("div");
    row.className = "rec";
    row.dataset.seq = r.seq;
    if (r.lost > 0) {
      const gap = document.createElement("div");
      gap.className = "lost";
      gap.textContent = r.lost + (r.lost === 1 ? " record" : " records") + " lost here";
      row.appendChild(gap);
      row.classList.add("gap");
    }
    const seq = document.createElement("span");
    seq.className = "seq";
    seq.textContent = r.seq;
    const msg = document.createElement("span");
    msg.className = "msg";
    msg.textContent = r.text; // text, never HTML
    row.append(seq, msg);
    if (matcher && !matcher(r.text)) row.classList.add("hide");
    else shown++;
    return row;
  }

  // Removes the n oldest rows: whole chunks, then the first rows of the
  // next one (a Range: fast even for thousands).
  function trimTop(n) {
    rows -= n;
    trimmed += n;
    while (n > 0) {
      const chunk = log.firstElementChild;
      const count = chunk.childElementCount;
      const k = Math.min(n, count);
      for (let el = chunk.firstElementChild, j = 0; j < k; el = el.nextElementSibling, j++) {
        if (!el.classList.contains("hide")) shown--;
      }
      if (k === count) {
        chunk.remove();
      } else {
        const range = document.createRange();
        range.setStartBefore(chunk.firstChild);
        range.setEndAfter(chunk.children[k - 1]);
        range.deleteContents();
      }
      n -= k;
    }
  }

  log.addEventListener("scroll", () => {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
    if (stick) jump.hidden = true;
  });

  jump.addEventListener("click", () => {
    stick = true;
    jump.hidden = true;
    log.scrollTop = log.scrollHeight;
  });

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    pauseButton.title = paused ? "show the records received meanwhile, and follow again" : "stop showing new records (they are kept)";
    setStatus();
    schedule();
    updateCounts();
  });

  // ---- the filter ----------------------------------------------------------

  let filterTimer = 0;

  function compileFilter() {
    const text = filterBox.value;
    filterBox.classList.remove("invalid");
    filterBox.title = "";
    if (text === "") return null;
    if (regexBox.checked) {
      try {
        const re = new RegExp(text, "i");
        return (s) => re.test(s);
      } catch (err) {
        filterBox.classList.add("invalid");
        filterBox.title = String(err.message || err);
        return null;
      }
    }
    const needle = text.toLowerCase();
    return (s) => s.toLowerCase().includes(needle);
  }

  function applyFilter() {
    filterTimer = 0;
    matcher = compileFilter();
    shown = 0;
    for (let chunk = log.firstElementChild; chunk; chunk = chunk.nextElementSibling) {
      for (let el = chunk.firstElementChild; el; el = el.nextElementSibling) {
        const visible = !matcher || matcher(el.lastElementChild.textContent);
        el.classList.toggle("hide", !visible);
        if (visible) shown++;
      }
    }
    if (stick) log.scrollTop = log.scrollHeight;
    updateCounts();
  }

  function filterSoon() {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 80);
  }

  filterBox.addEventListener("input", filterSoon);
  regexBox.addEventListener("change", applyFilter);
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && document.activeElement !== filterBox) {
      e.preventDefault();
      filterBox.focus();
    } else if (e.key === "Escape" && document.activeElement === filterBox) {
      filterBox.value = "";
      applyFilter();
    }
  });

  // ---- status, counts, /stat --------------------------------------------

  // Says how the stream is (given, or worked out from the state).
  function setStatus(cls, text) {
    if (cls === undefined) {
      if (ended) [cls, text] = ["closed", "ring closed"];
      else if (!source || source.readyState !== EventSource.OPEN) [cls, text] = ["connecting", "connecting"];
      else if (paused) [cls, text] = ["paused", "paused"];
      else [cls, text] = ["live", "live"];
    }
    status.className = cls;
    status.textContent = text;
  }

  function num(n) {
    return Number(n).toLocaleString("en-US");
  }

  function updateCounts() {
    let t = num(rows) + " shown";
    if (matcher) t += " · " + num(shown) + " match the filter";
    t += " · " + num(received) + " received";
    if (lostTotal) t += " · " + num(lostTotal) + " lost";
    if (paused && queue.length) t += " · " + num(queue.length) + " waiting (paused)";
    if (trimmed) t += " · the newest " + num(KEEP) + " are kept";
    counts.textContent = t;
  }

  let countsTimer = 0;

  // The counts at most 4 times a second (while paused: the waiting ones).
  function countsSoon() {
    if (!countsTimer) {
      countsTimer = setTimeout(() => {
        countsTimer = 0;
        updateCounts();
      }, 250);
    }
  }

  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) {
      n /= 1024;
      i++;
    }
    return num(n) + " " + units[i];
  }

  async function fetchStat() {
    const r = await fetch("stat", { cache: "no-store" });
    if (!r.ok) throw new Error("stat: " + r.status);
    return r.json();
  }

  function showStat(s) {
    const file = String(s.file);
    const name = file.split("/").pop() || file;
    $("name").textContent = name;
    $("name").title = file;
    document.title = name + " · ringlog";
    $("capacity").textContent = bytes(s.capacity);
    $("written").textContent = num(s.written);
    $("retained").textContent = num(s.retained);
  }

  async function pollStat() {
    try {
      const s = await fetchStat();
      showStat(s);
      if (ended && !s.closed && s.written > lastSeq + 1) connect(); // opened again
    } catch (_) {
      // the server is away; the stream's reconnecting says so
    }
    setTimeout(pollStat, STAT_EVERY_MS);
  }

  // For tests and the curious: the page's counters.
  window.ringlogPage = Object.freeze({
    state: () => ({
      rows, shown, received, lost: lostTotal, duplicates, trimmed, lastSeq,
      queued: queue.length, paused, stick, ended, keep: KEEP,
      readyState: source ? source.readyState : -1,
    }),
  });

  updateCounts();
  pollStat();
  connect();
})();
