// The page's side of the API: JSON over fetch with the token in a header, and the live feed read from a fetch stream
// (EventSource cannot send a header, and the token never goes into a URL or a cookie).
import {
  API_BASE,
  AUTH_HEADER,
  type ApiError,
  type FeedEventName,
  type FeedEvents,
} from '../../../src/dashboard/api-types.js';

const TOKEN_KEY = 'midair-dashboard-token';

/** The token: from the address's fragment once (then removed from the address bar), kept for this tab only. */
export function takeToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function keepToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** A refusal or failure the server answered: its HTTP status and its error. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiError['error'],
  ) {
    super(`${error.code}: ${error.message}`);
  }
}

export class Api {
  constructor(private readonly token: () => string | undefined) {}

  #headers(json: boolean): Headers {
    const headers = new Headers({ Accept: json ? 'application/json' : 'text/event-stream' });
    const token = this.token();
    if (token) headers.set(AUTH_HEADER, `Bearer ${token}`);
    if (json) headers.set('Content-Type', 'application/json');
    return headers;
  }

  async #answer<T>(res: Response): Promise<T> {
    const body = (await res.json().catch(() => undefined)) as T | ApiError | undefined;
    if (!res.ok) {
      const error = (body as ApiError | undefined)?.error ?? { code: `HTTP_${res.status}`, message: res.statusText };
      throw new ApiFailure(res.status, error);
    }
    return body as T;
  }

  async get<T>(path: string): Promise<T> {
    return this.#answer<T>(await fetch(`${API_BASE}${path}`, { headers: this.#headers(true), credentials: 'omit' }));
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.#answer<T>(
      await fetch(`${API_BASE}${path}`, {
        method: 'POST',
        headers: this.#headers(true),
        body: JSON.stringify(body),
        credentials: 'omit',
      }),
    );
  }

  /** Reads the migration's feed until it ends or `signal` aborts, handing each event to `on`. */
  async feed(
    migration: string,
    on: <N extends FeedEventName>(event: N, data: FeedEvents[N]) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await fetch(`${API_BASE}/migrations/${encodeURIComponent(migration)}/events`, {
      headers: this.#headers(false),
      credentials: 'omit',
      signal,
    });
    if (!res.ok || !res.body) await this.#answer(res);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) on(event as FeedEventName, JSON.parse(data.join('\n')) as FeedEvents[FeedEventName]);
      }
    }
  }
}
