// The chat page. It talks to the same route: GET ?action=get to poll, and a
// form-encoded POST with action=send to post (form fields arrive in params).
export const UI = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WASIO chat</title>
<style>
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; }
  #log { height: 26rem; overflow-y: auto; border: 1px solid #ccd; border-radius: .4rem; padding: .75rem; background: #f7f8fa; }
  .msg { margin: 0 0 .5rem; word-wrap: break-word; }
  .time { color: #889; font-size: .8rem; margin-right: .4rem; }
  .who { font-weight: 600; color: #1f5fbf; }
  .empty { color: #889; }
  form { display: flex; gap: .5rem; margin-top: .75rem; }
  input { padding: .45rem .6rem; border: 1px solid #bbc; border-radius: .3rem; font: inherit; }
  #name { width: 9rem; }
  #text { flex: 1; }
  button { padding: .45rem 1rem; border: 0; border-radius: .3rem; background: #1f5fbf; color: #fff; font: inherit; cursor: pointer; }
  #status { color: #b00; font-size: .85rem; min-height: 1.2em; }
</style>
</head>
<body>
<h1>WASIO chat</h1>
<div id="log" aria-live="polite"><p class="empty">Loading…</p></div>
<form id="form" autocomplete="off">
  <input id="name" placeholder="Your name" maxlength="40" required>
  <input id="text" placeholder="Message" maxlength="1000" required>
  <button>Send</button>
</form>
<p id="status"></p>
<script>
const route = location.pathname;
const log = document.getElementById('log');
const form = document.getElementById('form');
const nameInput = document.getElementById('name');
const textInput = document.getElementById('text');
const status = document.getElementById('status');
nameInput.value = localStorage.getItem('chat-name') || '';

function el(tag, cls, text) {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}

let shown = '';
async function refresh() {
  try {
    const res = await fetch(route + '?action=get&n=50', { cache: 'no-store' });
    const messages = await res.json();
    const key = JSON.stringify(messages);
    if (key === shown) return;           // nothing new: keep the scroll position
    shown = key;
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.replaceChildren();
    if (!messages.length) log.append(el('p', 'empty', 'No messages yet. Say hello!'));
    for (const m of messages) {
      const p = el('p', 'msg', '');
      const time = new Date(m.timestamp * 1000).toLocaleTimeString([], { hour12: false });
      p.append(el('span', 'time', time), el('span', 'who', m.username), ': ' + m.text);
      log.append(p);
    }
    if (atBottom || messages.length <= 1) log.scrollTop = log.scrollHeight;
    status.textContent = '';
  } catch (e) {
    status.textContent = 'Cannot load messages: ' + e.message;
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = new URLSearchParams({ action: 'send', username: nameInput.value.trim(), text: textInput.value.trim() });
  localStorage.setItem('chat-name', nameInput.value.trim());
  try {
    const res = await fetch(route, { method: 'POST', body });
    const answer = await res.json();
    if (answer.error) { status.textContent = answer.error; return; }
    textInput.value = '';
    await refresh();
    log.scrollTop = log.scrollHeight;
  } catch (e) {
    status.textContent = 'Cannot send: ' + e.message;
  }
});

refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
