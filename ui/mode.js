// The controller mode: shown to everyone, changed by admins with a reason
// (PUT /v1/mode; other roles get the API's 403, shown as a message).

import { api } from './api.js';
import { h, badge, replaceChildren } from './dom.js';
import { MODES } from './words.js';
import { outcomeMessage, section, statusLine } from './sections.js';

export function modeView(root, { onModeChanged }) {
  const status = statusLine();
  const currentLine = h('p', { 'data-testid': 'current-mode' }, 'Reading the mode…');
  const radios = Object.keys(MODES).map((mode) => {
    const id = `mode-${mode}`;
    return h('div', { class: 'choice' },
      h('input', { type: 'radio', name: 'mode', id, value: mode }),
      h('label', { for: id }, h('strong', {}, mode.replace('_', ' ')), ` — ${MODES[mode]}`));
  });
  const reason = h('textarea', { id: 'mode-reason', rows: 2, maxlength: 1024, 'aria-describedby': 'mode-reason-help' });
  const submit = h('button', { type: 'submit' }, 'Change mode');
  const message = h('div', { class: 'message', role: 'alert', 'data-testid': 'mode-message' });
  const form = h('form', { class: 'mode-form', 'aria-labelledby': 'mode-form-title' },
    h('fieldset', {}, h('legend', {}, 'New mode'), radios),
    h('div', { class: 'field' },
      h('label', { for: 'mode-reason' }, 'Reason'),
      h('p', { id: 'mode-reason-help', class: 'help' }, 'Required here: it is recorded in the audit log (an incident note, not an essay).'),
      reason),
    h('div', { class: 'buttons' }, submit),
    message);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = form.querySelector('input[name="mode"]:checked');
    if (!chosen) {
      outcomeMessage(message, 'invalid', 'Choose a mode first.');
      return;
    }
    if (!reason.value.trim()) {
      reason.setAttribute('aria-invalid', 'true');
      outcomeMessage(message, 'invalid', 'A reason is required to change the mode.');
      reason.focus();
      return;
    }
    reason.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      const answer = await api('PUT', '/v1/mode', { mode: chosen.value, reason: reason.value.trim() });
      outcomeMessage(message, 'done', `The mode is now ${answer.mode.replace('_', ' ')}.`);
      reason.value = '';
      await Promise.all([refresh(), onModeChanged()]);
    } catch (err) {
      outcomeMessage(message, 'refused', 'The mode was not changed.', err);
    } finally {
      submit.disabled = false;
    }
  });

  root.appendChild(h('h1', { tabindex: -1 }, 'Mode'));
  root.appendChild(status.el);
  root.appendChild(currentLine);
  root.appendChild(section('Change the mode',
    h('p', { id: 'mode-form-title' }, 'Only admins may change the mode; the change and its reason are audited.'), form));

  async function refresh() {
    let mode;
    try {
      mode = (await api('GET', '/v1/mode')).mode;
    } catch (e) {
      status.fail(e);
      return;
    }
    status.ok();
    replaceChildren(currentLine, 'The mode is ', badge('mode', mode), `: ${MODES[mode] || ''}`);
  }
  return { refresh };
}
