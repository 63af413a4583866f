import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';

// Fakes of outside services for the notify tests, on 127.0.0.1: an SMTP
// listener that speaks enough of RFC 5321 (EHLO, AUTH PLAIN/LOGIN, MAIL,
// RCPT, DATA, QUIT) for nodemailer, and an incoming-webhook receiver.

export interface Mail {
  from: string;
  to: string[];
  data: string;
  /** The decoded AUTH PLAIN / LOGIN credentials, when the client sent some. */
  auth?: string;
}

export interface SmtpServer {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<SmtpServer> {
  const mails: Mail[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let login: string[] | undefined;
    let mail: Mail = { from: '', to: [], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 127.0.0.1 ESMTP packuilon-test');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          mail.data = buffer.slice(0, end).replace(/\r\n\.\./g, '\r\n.');
          buffer = buffer.slice(end + 5);
          inData = false;
          mails.push(mail);
          mail = { from: '', to: [], data: '', ...(mail.auth ? { auth: mail.auth } : {}) };
          reply('250 2.0.0 queued');
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (login) {
          login.push(Buffer.from(line, 'base64').toString('utf8'));
          if (login.length === 1) reply('334 UGFzc3dvcmQ6');
          else {
            mail.auth = login.join(':');
            login = undefined;
            reply('235 2.7.0 accepted');
          }
        } else if (verb === 'EHLO' || verb === 'HELO') {
          reply('250-127.0.0.1');
          reply('250-AUTH PLAIN LOGIN');
          reply('250 8BITMIME');
        } else if (verb === 'AUTH') {
          const [, method, initial] = line.split(' ');
          if (method?.toUpperCase() === 'PLAIN' && initial) {
            mail.auth = Buffer.from(initial, 'base64').toString('utf8').split('\u0000').slice(1).join(':');
            reply('235 2.7.0 accepted');
          } else if (method?.toUpperCase() === 'LOGIN') {
            login = [];
            reply('334 VXNlcm5hbWU6');
          } else reply('504 5.5.4 unrecognized');
        } else if (verb === 'MAIL') {
          mail.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          mail.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else reply('502 5.5.2 not implemented');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mails,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface WebhookReceiver {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** Records every POST; answers `status` (200 unless told). */
export async function startWebhookReceiver(status = 200): Promise<WebhookReceiver> {
  const requests: WebhookReceiver['requests'] = [];
  const server = createHttpServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      requests.push({ path: request.url ?? '', headers: request.headers, body });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0KEN-SECRET-PATH`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
