// The controls: each asks what its command asks (a reason, --force, a confirmation, a percentage) in a dialog, and
// sends it to the same operator code the command runs; what the server answers is shown as the command prints it.
import type {
  AdvanceRequest,
  ControlResult,
  MigrationView,
  RampRequest,
  RollbackRequest,
  StrictRequest,
} from '../../../src/dashboard/api-types.js';
import { ApiFailure, type Api } from './api.js';
import { h } from './dom.js';

/** What one control's dialog asks. */
interface Ask {
  readonly title: string;
  readonly control: 'advance' | 'rollback' | 'ramp' | 'strict';
  /** `required`: as the command refuses without one; `optional`: the command's default reason is shown. */
  readonly reason: 'required' | 'optional';
  readonly defaultReason?: string;
  readonly force?: boolean;
  readonly percent?: 'ramp' | 'percent';
  /** The confirmation the command asks (type "yes"). */
  readonly confirm?: string | null;
  readonly body: (f: { reason: string; force: boolean; percent: number | undefined }) => object;
}

export interface Controls {
  readonly element: HTMLElement;
  update(view: MigrationView, enabled: boolean, why: string | null): void;
}

const button = (id: string, text: string): HTMLButtonElement => h('button', { id, attrs: { type: 'button' } }, text);

export function createControls(api: Api, migration: string, done: (r: ControlResult) => void): Controls {
  const result = h('p', { id: 'control-result', attrs: { role: 'status', 'aria-live': 'polite' } });
  const note = h('p', { class: 'muted', id: 'controls-note' });
  const advance = button('advance', 'Advance');
  const rollback = button('rollback', 'Roll back');
  const ramp = button('ramp-set', 'Set ramp %');
  const strictOn = button('strict-on', 'Strict on');
  const strictOff = button('strict-off', 'Strict off');
  const pause = button('backfill-pause', 'Pause backfill');
  const resume = button('backfill-resume', 'Resume backfill');
  const rate = h('input', {
    id: 'backfill-rate',
    attrs: {
      type: 'number',
      min: '1',
      step: '1',
      placeholder: 'rows/s',
      'aria-label': 'backfill ceiling, rows per second',
    },
  });
  const rateSet = button('backfill-rate-set', 'Set backfill ceiling');

  // The dialog every audited control opens.
  const title = h('h2', { id: 'dialog-title' });
  const question = h('p', { id: 'dialog-question', class: 'warning' });
  const reason = h('input', { id: 'dialog-reason', attrs: { type: 'text', maxlength: '2000', autocomplete: 'off' } });
  const reasonLabel = h('label', { attrs: { for: 'dialog-reason' } });
  const force = h('input', { id: 'dialog-force', attrs: { type: 'checkbox' } });
  const forceRow = h(
    'p',
    null,
    force,
    h('label', { attrs: { for: 'dialog-force' } }, ' --force: pass what blocks (needs a reason; recorded as forced)'),
  );
  const percent = h('input', { id: 'dialog-percent', attrs: { type: 'number', min: '0', max: '100', step: 'any' } });
  const percentRow = h(
    'p',
    null,
    h('label', { attrs: { for: 'dialog-percent' } }, 'share of keys read from new, % '),
    percent,
  );
  const yes = h('input', { id: 'dialog-yes', attrs: { type: 'text', autocomplete: 'off' } });
  const yesRow = h('p', null, h('label', { attrs: { for: 'dialog-yes' } }, 'Type "yes" to go on: '), yes);
  const ok = h('button', { id: 'dialog-ok', attrs: { type: 'submit' } }, 'Confirm');
  const cancel = h('button', { id: 'dialog-cancel', attrs: { type: 'button' } }, 'Cancel');
  const form = h(
    'form',
    { attrs: { method: 'dialog' } },
    title,
    question,
    h('p', null, reasonLabel, reason),
    forceRow,
    percentRow,
    yesRow,
    h('p', { class: 'buttons' }, cancel, ok),
  );
  const dialog = h('dialog', { id: 'control-dialog' }, form);
  let asking: Ask | undefined;

  const show = (text: string, failed: boolean): void => {
    result.textContent = text;
    result.className = failed ? 'bad' : 'ok';
  };
  const send = async (control: string, body: object): Promise<void> => {
    show(`${control}…`, false);
    try {
      const r = await api.post<ControlResult>(`/migrations/${encodeURIComponent(migration)}/${control}`, body);
      show(r.message, false);
      done(r);
    } catch (err) {
      show(err instanceof ApiFailure ? `${err.error.code}: ${err.error.message}` : String(err), true);
    }
  };

  const valid = (): boolean => {
    if (!asking) return false;
    const needsReason = asking.reason === 'required' || (asking.force === true && force.checked);
    if (needsReason && reason.value.trim() === '') return false;
    if (asking.percent && percent.value === '' && asking.percent === 'percent') return false;
    return !asking.confirm || yes.value.trim().toLowerCase() === 'yes';
  };
  const refresh = (): void => {
    if (!asking) return;
    const required = asking.reason === 'required' || (asking.force === true && force.checked);
    reasonLabel.textContent = required
      ? 'Reason (required; goes to the audit log): '
      : `Reason (goes to the audit log; default "${asking.defaultReason ?? ''}"): `;
    ok.disabled = !valid();
  };
  for (const el of [reason, force, percent, yes]) el.addEventListener('input', refresh);
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const a = asking;
    if (!a || !valid()) return;
    dialog.close();
    const n = percent.value === '' ? undefined : Number(percent.value);
    void send(a.control, a.body({ reason: reason.value.trim(), force: force.checked, percent: n }));
  });

  const open = (a: Ask): void => {
    asking = a;
    title.textContent = a.title;
    question.textContent = a.confirm ?? '';
    question.hidden = !a.confirm;
    yesRow.hidden = !a.confirm;
    forceRow.hidden = a.force !== true;
    percentRow.hidden = a.percent === undefined;
    reason.value = '';
    force.checked = false;
    percent.value = '';
    yes.value = '';
    refresh();
    dialog.showModal();
    reason.focus();
  };

  const optional = (r: string): string | undefined => (r === '' ? undefined : r);
  let view: MigrationView | undefined;
  advance.addEventListener('click', () => {
    const a = view?.controls.advance;
    if (!a) return;
    open({
      title: `Advance to ${a.to}`,
      control: 'advance',
      reason: 'optional',
      defaultReason: `midair phase advance to ${a.to}`,
      force: true,
      ...(a.takesRamp ? { percent: 'ramp' as const } : {}),
      confirm: a.confirm,
      body: (f): AdvanceRequest => ({
        ...(optional(f.reason) ? { reason: f.reason } : {}),
        ...(f.force ? { force: true } : {}),
        ...(a.confirm ? { yes: true } : {}),
        ...(a.takesRamp && f.percent !== undefined ? { ramp: f.percent } : {}),
      }),
    });
  });
  rollback.addEventListener('click', () => {
    const r = view?.controls.rollback;
    if (!r) return;
    open({
      title: `Roll back to ${r.to}${r.resyncs ? ' (old is re-synced from new on the way)' : ''}`,
      control: 'rollback',
      reason: 'optional',
      defaultReason: `midair phase rollback to ${r.to}`,
      force: true,
      body: (f): RollbackRequest => ({
        ...(optional(f.reason) ? { reason: f.reason } : {}),
        ...(f.force ? { force: true } : {}),
      }),
    });
  });
  ramp.addEventListener('click', () =>
    open({
      title: 'Set the ramp percentage',
      control: 'ramp',
      reason: 'optional',
      defaultReason: 'midair phase set --ramp N',
      percent: 'percent',
      body: (f): RampRequest => ({ percent: f.percent ?? NaN, ...(optional(f.reason) ? { reason: f.reason } : {}) }),
    }),
  );
  for (const [b, on] of [
    [strictOn, true],
    [strictOff, false],
  ] as const)
    b.addEventListener('click', () =>
      open({
        title: `Strict dual writes ${on ? 'on' : 'off'}`,
        control: 'strict',
        reason: 'required',
        body: (f): StrictRequest => ({ on, reason: f.reason }),
      }),
    );
  pause.addEventListener('click', () => void send('backfill', { action: 'pause' }));
  resume.addEventListener('click', () => void send('backfill', { action: 'resume' }));
  rateSet.addEventListener('click', () => void send('backfill', { action: 'rate', rowsPerSecond: Number(rate.value) }));

  const element = h(
    'section',
    { class: 'panel', id: 'controls', attrs: { 'aria-labelledby': 'controls-title' } },
    h('h2', { id: 'controls-title' }, 'Controls'),
    note,
    h('p', { class: 'buttons' }, advance, rollback, ramp),
    h('p', { class: 'buttons' }, strictOn, strictOff),
    h('p', { class: 'buttons' }, pause, resume, rate, rateSet),
    result,
    dialog,
  );
  return {
    element,
    update(v, enabled, why) {
      view = v;
      const c = v.controls;
      advance.textContent = c.advance ? `Advance to ${c.advance.to}` : 'Advance';
      rollback.textContent = c.rollback ? `Roll back to ${c.rollback.to}` : 'Roll back';
      advance.disabled = !enabled || !c.advance;
      rollback.disabled = !enabled || !c.rollback;
      ramp.disabled = !enabled || !c.ramp;
      strictOn.disabled = !enabled || !c.strict || v.strict;
      strictOff.disabled = !enabled || !c.strict || !v.strict;
      pause.disabled = !enabled || !c.backfill || v.backfill.paused;
      resume.disabled = !enabled || !c.backfill || !v.backfill.paused;
      rate.disabled = rateSet.disabled = !enabled || !c.backfill;
      note.textContent = why ?? '';
      note.hidden = why === null;
    },
  };
}
