import { Controller, Get, Headers, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** The admin page's files: copied next to the compiled code by the build (scripts/copy-assets.js). */
const UI_DIR = join(__dirname, '..', '..', 'ui');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/** uPlot, the chart library, served from its package. */
const VENDOR: Record<string, string> = {
  'uplot.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uplot.css': require.resolve('uplot/dist/uPlot.min.css'),
};

type Encoding = 'br' | 'gzip' | 'identity';

/** Each file as read and as compressed, made once: the files do not change while the broker runs. */
const cache = new Map<string, Buffer>();
function fileOf(path: string, encoding: Encoding): Buffer {
  const key = `${encoding}:${path}`;
  let content = cache.get(key);
  if (content === undefined) {
    const raw = encoding === 'identity' ? readFileSync(path) : fileOf(path, 'identity');
    content = encoding === 'br' ? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }) : encoding === 'gzip' ? gzipSync(raw, { level: 9 }) : raw;
    cache.set(key, content);
  }
  return content;
}

/** The best encoding the browser takes (every browser takes brotli over HTTPS and gzip anywhere). */
function encodingFor(acceptEncoding: string | undefined): Encoding {
  const accepted = (acceptEncoding ?? '').split(',').map((e) => e.trim().split(';')[0]);
  return accepted.includes('br') ? 'br' : accepted.includes('gzip') ? 'gzip' : 'identity';
}

/**
 * The admin web UI: one page that logs in with the broker's users (HTTP basic auth on every API
 * call, as RabbitMQ's UI) and reads the management API. No login is needed for the files. They
 * are served compressed (brotli or gzip) to browsers that take it.
 */
@Controller()
export class UiController {
  @Get()
  index(@Headers('accept-encoding') acceptEncoding: string | undefined, @Res() reply: FastifyReply): void {
    this.send(reply, join(UI_DIR, 'index.html'), 'no-cache', acceptEncoding);
  }

  /** Browsers ask for it whatever the page links: the page's SVG icon, rather than a 404 on every load. */
  @Get('favicon.ico')
  favicon(@Headers('accept-encoding') acceptEncoding: string | undefined, @Res() reply: FastifyReply): void {
    this.send(reply, join(UI_DIR, 'favicon.svg'), 'max-age=86400', acceptEncoding);
  }

  @Get('ui/vendor/:file')
  vendor(@Param('file') file: string, @Headers('accept-encoding') acceptEncoding: string | undefined, @Res() reply: FastifyReply): void {
    const path = VENDOR[file];
    if (path === undefined) throw new NotFoundException('Not Found');
    this.send(reply, path, 'max-age=3600', acceptEncoding);
  }

  @Get('ui/:file')
  asset(@Param('file') file: string, @Headers('accept-encoding') acceptEncoding: string | undefined, @Res() reply: FastifyReply): void {
    if (!/^[a-z0-9-]+\.(js|css|svg|html)$/.test(file)) throw new NotFoundException('Not Found');
    this.send(reply, join(UI_DIR, file), 'no-cache', acceptEncoding);
  }

  private send(reply: FastifyReply, path: string, cacheControl: string, acceptEncoding: string | undefined): void {
    const encoding = encodingFor(acceptEncoding);
    let content: Buffer;
    try {
      content = fileOf(path, encoding);
    } catch {
      throw new NotFoundException('Not Found');
    }
    void reply.header('content-type', TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream').header('cache-control', cacheControl).header('vary', 'accept-encoding');
    if (encoding !== 'identity') void reply.header('content-encoding', encoding);
    void reply.send(content);
  }
}
