import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookBody } from '../../src/index.js';

/** One request the receiver got. */
export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: WebhookBody;
}

/** A webhook receiver on 127.0.0.1, port 0: it records every request and answers as scripted. */
export interface TestReceiver {
  readonly url: string;
  readonly received: Received[];
  /** Responses sent so far. */
  readonly answered: number;
  /** The statuses of the next answers, in order; after them, `then` (default 200). */
  script(statuses: readonly number[], then?: number): void;
  /** From now on requests wait unanswered until {@link TestReceiver.release}. */
  hold(): void;
  /** Answers the requests held, and stops holding. */
  release(): void;
  /** Resolves once `n` requests arrived. */
  requests(n: number): Promise<void>;
  /** Resolves once `n` responses were sent. */
  answers(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function webhookReceiver(): Promise<TestReceiver> {
  const received: Received[] = [];
  let statuses: number[] = [];
  let then = 200;
  let holding = false;
  let held: (() => void)[] = [];
  let answered = 0;
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const until = async (done: () => boolean): Promise<void> => {
    while (!done()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const answer = (res: ServerResponse): void => {
    res.writeHead(statuses.shift() ?? then, { 'content-type': 'text/plain' }).end('ok');
    answered++;
    wake();
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body, json: JSON.parse(body) as WebhookBody });
      wake();
      if (holding) held.push(() => answer(res));
      else answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/midair?token=t0ken-in-the-query`,
    received,
    get answered() {
      return answered;
    },
    script: (s, t = 200) => {
      statuses = [...s];
      then = t;
    },
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const h of held.splice(0)) h();
      held = [];
    },
    requests: async (n) => until(() => received.length >= n),
    answers: async (n) => until(() => answered >= n),
    close: async () => {
      holding = false;
      for (const h of held.splice(0)) h();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
