// The camera and QR decoding shared by the kiosk and staff pages (served by the agent, no CDN).
// Decoding: the browser's BarcodeDetector where it reads QR codes, else the bundled jsQR
// (jsQR.js, Apache-2.0, see jsQR.LICENSE.txt). `?decoder=jsqr` forces the bundled one.

export function texts() {
  const el = document.getElementById('texts');
  return el ? JSON.parse(el.textContent) : {};
}

export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ''));
}

// A plural sentence: the catalogue's forms by CLDR category, chosen by the page's language.
export function count(forms, n) {
  const lang = document.documentElement.lang || 'en';
  const which = new Intl.PluralRules(lang).select(n);
  return fill(forms[which] || forms.other, {n});
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('cannot load ' + src));
    document.head.appendChild(s);
  });
}

export async function loadDecoder() {
  const forced = new URLSearchParams(location.search).get('decoder');
  if (forced !== 'jsqr' && 'BarcodeDetector' in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const detector = new window.BarcodeDetector({formats: ['qr_code']});
        return {
          name: 'BarcodeDetector',
          decode: async (video) => {
            const found = await detector.detect(video);
            return found.length ? found[0].rawValue : null;
          },
        };
      }
    } catch (e) { /* fall back to jsQR below */ }
  }
  await loadScript('/static/jsQR.js');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  return {
    name: 'jsQR',
    decode: async (video) => {
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) return null;
      const scale = Math.min(1, 640 / Math.max(w, h));  // enough pixels for a card held up
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(img.data, canvas.width, canvas.height,
                                {inversionAttempts: 'attemptBoth'});
      return found ? found.data : null;
    },
  };
}

export async function startCamera(video, {facing = 'environment', deviceId = null} = {}) {
  if (video.srcObject) video.srcObject.getTracks().forEach((t) => t.stop());
  const constraints = deviceId
    ? {deviceId: {exact: deviceId}}
    : {facingMode: {ideal: facing}, width: {ideal: 1280}, height: {ideal: 720}};
  const stream = await navigator.mediaDevices.getUserMedia({video: constraints, audio: false});
  video.srcObject = stream;
  await video.play().catch(() => {});
  return stream.getVideoTracks()[0];
}

export async function cameras() {
  const all = await navigator.mediaDevices.enumerateDevices();
  return all.filter((d) => d.kind === 'videoinput');
}

// Calls onCode(text, frameAt, emptyAt) for each frame with a QR: frameAt is when that frame
// was shown, emptyAt when the last frame read without a code was (performance.now() clock;
// bench/camera_scan.py reads them). One decode at a time; frames arriving meanwhile are skipped.
export function scanLoop(video, decoder, onCode) {
  let running = true, decoding = false, emptyAt = 0;
  const perFrame = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  async function step(now, meta) {
    if (!running) return;
    if (!decoding && video.readyState >= 2) {
      decoding = true;
      const frameAt = meta && meta.presentationTime ? meta.presentationTime : performance.now();
      try {
        const text = await decoder.decode(video);
        if (text) onCode(text, frameAt, emptyAt);
        else emptyAt = frameAt;
      } catch (e) { /* a frame that cannot be read: the next one may */ }
      decoding = false;
    }
    schedule();
  }
  function schedule() {
    if (!running) return;
    if (perFrame) video.requestVideoFrameCallback(step);
    else setTimeout(() => step(performance.now(), null), 100);
  }
  schedule();
  return () => { running = false; };
}

export async function postJSON(url, body) {
  const r = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  return {status: r.status, body: data};
}

// The progress toward the goal drawn as stamps: filled circles, then empty ones.
export function drawStamps(box, balance, goal, label) {
  box.replaceChildren();
  if (balance == null || !goal) { box.hidden = true; return; }
  box.hidden = false;
  box.setAttribute('role', 'img');
  box.setAttribute('aria-label', label);
  const filled = Math.min(balance, goal);
  for (let i = 0; i < goal; i++) {
    const s = document.createElement('span');
    s.className = i < filled ? 'stamp on' : 'stamp';
    box.appendChild(s);
  }
}

export function timeLeft(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  const lang = document.documentElement.lang || 'en';
  const unit = (u, v) => new Intl.NumberFormat(lang, {style: 'unit', unit: u}).format(v);
  if (s < 60) return unit('second', s);
  return unit('minute', Math.ceil(s / 60));
}

window.stampedgeTimings = window.stampedgeTimings || [];
