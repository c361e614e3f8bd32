// The dashboard's page: picks a migration, reads its live feed, and draws the panels, the charts and the controls.
import type {
  DashboardInfo,
  FeedEventName,
  FeedEvents,
  MigrationView,
  Sample,
} from '../../../src/dashboard/api-types.js';
import { Api, ApiFailure, keepToken, takeToken } from './api.js';
import { drawCharts, type ChartSet } from './charts.js';
import { createControls, type Controls } from './controls.js';
import { clock, fill, h } from './dom.js';
import { renderPanels } from './panels.js';
import { CHARTS, chartData } from './series.js';
import './style.css';

const HISTORY = 3600;
const PANELS = ['phase', 'gates', 'fleet', 'backfill', 'verification', 'shadow', 'repairs', 'stores', 'audit'] as const;

let token = takeToken();
const api = new Api(() => token);
const app = document.getElementById('app') as HTMLElement;
const nav = document.getElementById('migrations') as HTMLElement;
const connection = document.getElementById('connection') as HTMLElement;

const say = (text: string, bad = false): void => {
  connection.textContent = text;
  connection.className = `connection${bad ? ' bad' : ''}`;
};

/** Asks for the token (kept for this tab only), then starts again. */
function tokenForm(why: string): HTMLElement {
  const input = h('input', {
    id: 'token',
    attrs: { type: 'password', autocomplete: 'off', 'aria-label': 'dashboard token' },
  });
  const form = h(
    'form',
    { class: 'token' },
    h('label', { attrs: { for: 'token' } }, `${why} Token: `),
    input,
    h('button', { attrs: { type: 'submit' } }, 'Use'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.value.trim() === '') return;
    token = input.value.trim();
    keepToken(token);
    void start();
  });
  return form;
}

const chartWidth = (): number => Math.max(320, Math.min(1180, app.clientWidth - 32));

/** One migration on the page: its slots, charts and controls, fed by its live feed until another is picked. */
class Screen {
  readonly #slots: Record<string, HTMLElement> = {};
  readonly #controls: Controls;
  readonly #log = h('ol', { id: 'feed-log', class: 'feed' });
  readonly #banner = h('p', { id: 'read-error', class: 'bad', attrs: { role: 'alert' } });
  readonly #abort = new AbortController();
  #samples: Sample[] = [];
  #charts: ChartSet | undefined;

  constructor(
    readonly name: string,
    readonly info: DashboardInfo,
  ) {
    for (const p of PANELS) this.#slots[p] = h('div', { class: `slot slot-${p}` });
    this.#controls = createControls(api, name, (r) => this.#show(r.view));
    const charts = h(
      'section',
      { class: 'panel charts', id: 'charts', attrs: { 'aria-label': 'charts' } },
      h('h2', null, 'Over time'),
      ...CHARTS.map((c) => h('div', { id: c.id, class: 'chart' })),
    );
    this.#banner.hidden = true;
    fill(
      app,
      this.#banner,
      this.#slots.phase ?? null,
      h('div', { class: 'row' }, this.#controls.element, this.#slots.gates ?? null),
      charts,
      h('div', { class: 'row' }, this.#slots.fleet ?? null, this.#slots.backfill ?? null),
      h('div', { class: 'row' }, this.#slots.verification ?? null, this.#slots.shadow ?? null),
      h('div', { class: 'row' }, this.#slots.repairs ?? null, this.#slots.stores ?? null),
      this.#slots.audit ?? null,
      h('section', { class: 'panel', id: 'live' }, h('h2', null, 'Live changes'), this.#log),
    );
    window.addEventListener('resize', this.#resize);
    void this.#follow();
  }

  close(): void {
    this.#abort.abort();
    window.removeEventListener('resize', this.#resize);
    this.#charts?.destroy();
  }

  readonly #resize = (): void => this.#charts?.resize(chartWidth());

  #note(text: string): void {
    this.#log.prepend(h('li', null, `${clock(new Date().toISOString())} ${text}`));
    while (this.#log.children.length > 30) this.#log.lastElementChild?.remove();
  }

  #show(view: MigrationView): void {
    renderPanels(this.#slots, view);
    const why = !this.info.controls
      ? 'This dashboard only watches: a script moves this migration.'
      : token === undefined
        ? 'The controls need the dashboard token (printed by `midair dashboard`).'
        : null;
    this.#controls.update(view, why === null, why);
    this.#banner.hidden = view.error === null;
    this.#banner.textContent = view.error
      ? `The last read failed (${view.error.code}: ${view.error.message}); showing the read before it.`
      : '';
    const data = chartData(this.#samples, view);
    if (this.#charts) this.#charts.update(data);
    else this.#charts = drawCharts(data, (id) => document.getElementById(id), chartWidth());
  }

  readonly #on = <N extends FeedEventName>(event: N, data: FeedEvents[N]): void => {
    if (event === 'snapshot') {
      const d = data as FeedEvents['snapshot'];
      this.#samples = [...d.samples];
      this.#show(d.view);
    } else if (event === 'sample') {
      const d = data as FeedEvents['sample'];
      this.#samples.push(d.sample);
      if (this.#samples.length > HISTORY) this.#samples.splice(0, this.#samples.length - HISTORY);
      this.#show(d.view);
    } else if (event === 'phase') {
      const d = data as FeedEvents['phase'];
      if (d.from)
        this.#note(
          `phase ${d.from.phase} → ${d.to.phase}${d.to.phase === 'ramp' ? ` ${d.to.rampPercent} %` : ''} (version ${d.to.version})`,
        );
    } else if (event === 'audit') {
      for (const e of [...(data as FeedEvents['audit']).entries].reverse())
        this.#note(`audit: ${e.actor} ${e.action} ${e.from ?? '–'} → ${e.to}: ${e.reason}`);
    } else if (event === 'gates') {
      const d = data as FeedEvents['gates'];
      const blocked = d.gates.filter((g) => !g.ok).map((g) => g.gate);
      this.#note(
        d.next
          ? `gates into ${d.next}: ${blocked.length === 0 ? 'all pass' : `${blocked.join(', ')} blocking`}`
          : 'no phase ahead',
      );
    } else if (event === 'failure') {
      const d = data as FeedEvents['failure'];
      if (d.view) this.#show(d.view);
      this.#note(`read failed: ${d.error.code}: ${d.error.message}`);
    }
  };

  async #follow(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      say('live');
      try {
        await api.feed(this.name, this.#on, signal);
        say('the feed ended; reconnecting…', true);
      } catch (err) {
        if (signal.aborted) return;
        say(
          err instanceof ApiFailure
            ? `${err.error.code}: ${err.error.message}`
            : 'the server does not answer; retrying…',
          true,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

let screen: Screen | undefined;

async function start(): Promise<void> {
  screen?.close();
  screen = undefined;
  let info: DashboardInfo;
  try {
    info = await api.get<DashboardInfo>('');
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      say('needs the token', true);
      fill(app, tokenForm('This dashboard is reachable from the network: reads need the token too.'));
      return;
    }
    say('the server does not answer', true);
    fill(app, h('p', { class: 'bad' }, err instanceof Error ? err.message : String(err)));
    return;
  }
  const pick = (name: string): void => {
    screen?.close();
    for (const b of nav.querySelectorAll('button'))
      b.setAttribute('aria-pressed', String(b.dataset.migration === name));
    screen = new Screen(name, info);
  };
  fill(
    nav,
    ...info.migrations.map((m) => {
      const b = h(
        'button',
        { data: { migration: m.name }, attrs: { type: 'button', 'aria-pressed': 'false' } },
        m.name,
      );
      b.addEventListener('click', () => pick(m.name));
      return b;
    }),
    info.controls && token === undefined ? tokenForm('') : null,
  );
  const first = info.migrations[0];
  if (first) pick(first.name);
  else fill(app, h('p', null, 'no migration to show'));
}

void start();
