// The staff scanner: scan or search a card, see it, then add it to a till's next check, stamp a
// visit (Manual mode) or redeem a reward. The camera is the staff's choice (rear by default).
import {texts, fill, count, loadDecoder, startCamera, cameras, scanLoop, postJSON, drawStamps}
  from './camera.js';

const T = texts();
const $ = (id) => document.getElementById(id);
let current = null;      // {code, customer}
let lastRead = {text: '', at: 0};
let track = null;

function say(text, good = true) {
  const out = $('outcome');
  out.textContent = text;
  out.className = 'outcome ' + (good ? 'good' : 'bad');
}

function showCard(code, customer, source) {
  current = {code, customer};
  const who = customer
    ? [customer.name, customer.email, customer.number && ('#' + customer.number)]
        .filter(Boolean).join(' · ')
    : code;
  $('card-who').textContent = who || code;
  const balance = customer && customer.balance, goal = customer && customer.goal;
  drawStamps($('card-stamps'), balance, goal, fill(T['staff.balance'], {balance, goal}));
  $('card-balance').textContent = balance != null && goal
    ? fill(T['staff.balance'], {balance, goal}) + (source === 'cache' ? ' · ' + T['staff.offline'] : '')
    : (source === 'cache' ? T['staff.offline'] : '');
  $('card').hidden = false;
  say('');
}

async function lookup(q) {
  const r = await fetch('/v1/customers?q=' + encodeURIComponent(q),
                        {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
  if (r.status === 401) { location.reload(); return null; }
  return r.ok ? r.json() : {customers: [], source: 'cache'};
}

async function onScan(text) {
  const now = performance.now();
  const still = text === lastRead.text && now - lastRead.at < 2500;  // the card is still in view
  lastRead = {text, at: now};
  if (still) return;
  if (/^https?:/i.test(text)) { say(T['kiosk.receipt'], false); return; }
  const found = await lookup(text);
  if (!found) return;
  showCard(text, found.customers[0] || null, found.source);
  if (!found.customers.length) say(T['staff.found.none'], false);
}

function cardCode() {
  const c = current.customer;
  return (c && (c.card_code || c.number)) || current.code;
}

async function act(body, url = '/v1/scans') {
  if (!current) return;
  let res;
  try { res = await postJSON(url, body); } catch (e) { say(T['kiosk.error'], false); return; }
  if (res.status === 401) { location.reload(); return; }
  const b = res.body || {};
  const ok = res.status < 300;
  let text = (b.error && b.error.message) || b.message || (ok ? '' : T['kiosk.error']);
  // the agent's messages are for integrators: the reasons staff meet most are in the catalogue
  const known = {unknown_card: T['kiosk.unknown'], receipt_qr: T['kiosk.receipt'],
                 throttled: T['kiosk.cooldown.title'], unknown_reward: T['staff.reward.unknown'],
                 already_redeemed: T['staff.reward.used'], expired: T['staff.reward.expired']};
  const why = b.reason || (b.error && b.error.code);
  if (why && known[why]) text = known[why];
  if (ok && b.outcome === 'pending') {
    text = fill(T['staff.attached'], {till: body.till || '-'});
  } else if (ok && b.outcome === 'stamped') {
    text = count(T['kiosk.added'], b.stamps);
    if (b.balance != null && b.goal) {
      text += ' · ' + fill(T['staff.balance'], b);
      drawStamps($('card-stamps'), b.balance, b.goal, fill(T['staff.balance'], b));
    }
  }
  say(text, ok && b.outcome !== 'rejected');
}

$('attach').addEventListener('click', () =>
  act({code: cardCode(), till: $('till').value || null, mode: 'autopilot'}));
$('stamp').addEventListener('click', () =>
  act({code: cardCode(), till: $('till').value || null, mode: 'manual'}));
const redeem = $('redeem');
if (redeem) redeem.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const code = $('reward').value.trim();
  if (code) act({till: $('till').value || null},
                '/v1/rewards/' + encodeURIComponent(code) + '/redeem');
});

$('search').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const q = $('q').value.trim();
  const list = $('matches');
  list.replaceChildren();
  if (!q) return;
  const found = await lookup(q);
  if (!found) return;
  if (!found.customers.length) { say(T['staff.found.none'], false); return; }
  for (const c of found.customers) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = [c.name, c.email, c.number && ('#' + c.number)].filter(Boolean).join(' · ');
    b.addEventListener('click', () => { showCard(c.card_code || c.number, c, found.source);
                                        list.replaceChildren(); });
    li.appendChild(b);
    list.appendChild(li);
  }
  if (found.customers.length === 1) list.querySelector('button').click();
});

async function useCamera(deviceId) {
  track = await startCamera($('video'), {facing: 'environment', deviceId});
  const caps = track.getCapabilities ? track.getCapabilities() : {};
  const torch = $('torch');
  torch.hidden = !caps.torch;
  torch.setAttribute('aria-pressed', 'false');
}

$('torch').addEventListener('click', async () => {
  const on = $('torch').getAttribute('aria-pressed') !== 'true';
  try {
    await track.applyConstraints({advanced: [{torch: on}]});
    $('torch').setAttribute('aria-pressed', String(on));
  } catch (e) { /* this camera has no light after all */ }
});

$('camera').addEventListener('change', (ev) => useCamera(ev.target.value).catch(() => {}));

(async () => {
  try {
    await useCamera(null);
    const select = $('camera');
    const active = track.getSettings ? track.getSettings().deviceId : null;
    for (const [i, cam] of (await cameras()).entries()) {
      const o = document.createElement('option');
      o.value = cam.deviceId;
      o.textContent = cam.label || (T['staff.camera'] + ' ' + (i + 1));
      o.selected = cam.deviceId === active;
      select.appendChild(o);
    }
    const decoder = await loadDecoder();
    document.body.dataset.decoder = decoder.name;
    scanLoop($('video'), decoder, (text) => onScan(text));
  } catch (e) {
    $('camera-note').textContent = T['kiosk.no_camera'];
  }
})();
