// The self-service kiosk: the camera always on; a card's code (or a typed number) is stamped
// through POST /v1/scans (kiosk mode) and the answer is shown large, then the page resets.
import {texts, fill, count, loadDecoder, startCamera, scanLoop, postJSON, drawStamps, timeLeft}
  from './camera.js';

const T = texts();
const params = new URLSearchParams(location.search);
const RESET_MS = Math.min(30000, Math.max(500, Number(params.get('reset')) || 6000));
const $ = (id) => document.getElementById(id);
const result = $('result');
const AWAY_MS = 2500;  // a card held up counts once; again only after it was taken away
let busy = false, timer = null;
let held = {code: '', seenAt: -Infinity};

function onCamera(code, frameAt, emptyAt) {
  const now = performance.now();
  if (code === held.code && now - held.seenAt < AWAY_MS) { held.seenAt = now; return; }
  if (busy) return;
  held = {code, seenAt: now};
  submit(code, frameAt, emptyAt);
}

function show(kind, title, text, detail = '', stamps = null) {
  result.className = 'result ' + kind;
  $('result-title').textContent = title;
  $('result-text').textContent = text;
  $('result-detail').textContent = detail;
  if (stamps) drawStamps($('result-stamps'), stamps.balance, stamps.goal,
                         fill(T['kiosk.progress'], stamps));
  else drawStamps($('result-stamps'), null, 0, '');
  result.hidden = false;
  document.body.classList.add('showing');
}

function reset() {
  result.hidden = true;
  document.body.classList.remove('showing');
  $('number').value = '';
  busy = false;
}

function render(status, body) {
  if (status === 401) { location.reload(); return; }  // unpaired: the pairing form
  const outcome = body && body.outcome;
  if (outcome === 'stamped') {
    const known = body.balance != null && body.goal;
    const added = count(T['kiosk.added'], body.stamps);
    const text = known ? fill(T['kiosk.progress'], body) : T['kiosk.offline'];
    show(body.reward_reached ? 'good reward' : 'good', added, text,
         body.reward_reached ? T['kiosk.reward'] : '', known ? body : null);
  } else if (outcome === 'throttled') {
    show('wait', T['kiosk.cooldown.title'],
         fill(T['kiosk.cooldown'], {time: timeLeft(body.retry_after_s || 0)}));
  } else if (outcome === 'rejected' && body.reason === 'duplicate') {
    busy = false;  // the same read twice: the first one's answer stands
    return false;
  } else if (outcome === 'rejected' && body.reason === 'unknown_card') {
    show('bad', T['kiosk.unknown.title'], T['kiosk.unknown']);
  } else if (outcome === 'rejected' && body.reason === 'receipt_qr') {
    show('bad', T['kiosk.receipt.title'], T['kiosk.receipt']);
  } else if (outcome === 'rejected') {
    show('bad', T['kiosk.invalid.title'], T['kiosk.invalid']);
  } else {
    show('bad', T['kiosk.error.title'], T['kiosk.error']);
  }
  return true;
}

async function submit(code, frameAt, emptyAt = frameAt) {
  if (busy) return;
  busy = true;
  clearTimeout(timer);
  let status = 0, body = null;
  try {
    ({status, body} = await postJSON('/v1/scans', {code, mode: 'kiosk'}));
  } catch (e) { body = null; }
  window.stampedgeTimings.push({code, frameAt, emptyAt, doneAt: performance.now(),
                                outcome: body && body.outcome});
  if (render(status, body)) timer = setTimeout(reset, RESET_MS);
}

$('typed').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const n = $('number').value.replace(/\D/g, '');
  if (n.length === 6) submit(n, performance.now());
});
result.addEventListener('click', () => { clearTimeout(timer); reset(); });

(async () => {
  const video = $('video');
  try {
    await startCamera(video, {facing: params.get('camera') === 'rear' ? 'environment' : 'user'});
    const decoder = await loadDecoder();
    document.body.dataset.decoder = decoder.name;
    scanLoop(video, decoder, onCamera);
  } catch (e) {
    $('camera-note').textContent = T['kiosk.no_camera'];
    document.body.classList.add('no-camera');
  }
})();
