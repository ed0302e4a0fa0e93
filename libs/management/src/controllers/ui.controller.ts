import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The admin page's files: copied next to the compiled code by the build (scripts/copy-assets.js). */
const UI_DIR = join(__dirname, '..', '..', 'ui');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/** uPlot, the chart library, served from its package. */
const VENDOR: Record<string, string> = {
  'uplot.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uplot.css': require.resolve('uplot/dist/uPlot.min.css'),
};

const cache = new Map<string, Buffer>();
function fileOf(path: string): Buffer {
  let content = cache.get(path);
  if (content === undefined) {
    content = readFileSync(path);
    cache.set(path, content);
  }
  return content;
}

/**
 * The admin web UI: one page that logs in with the broker's users (HTTP basic auth on every API
 * call, as RabbitMQ's UI) and reads the management API. No login is needed for the files.
 */
@Controller()
export class UiController {
  @Get()
  index(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  /** Browsers ask for it whatever the page links: the page's SVG icon, rather than a 404 on every load. */
  @Get('favicon.ico')
  favicon(@Res() reply: FastifyReply): void {
    this.send(reply, 'favicon.svg');
  }

  @Get('ui/vendor/:file')
  vendor(@Param('file') file: string, @Res() reply: FastifyReply): void {
    const path = VENDOR[file];
    if (path === undefined) throw new NotFoundException('Not Found');
    void reply.header('content-type', TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream').header('cache-control', 'max-age=3600').send(fileOf(path));
  }

  @Get('ui/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply): void {
    if (!/^[a-z0-9-]+\.(js|css|svg|html)$/.test(file)) throw new NotFoundException('Not Found');
    this.send(reply, file);
  }

  private send(reply: FastifyReply, file: string): void {
    let content: Buffer;
    try {
      content = fileOf(join(UI_DIR, file));
    } catch {
      throw new NotFoundException('Not Found');
    }
    void reply.header('content-type', TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(content);
  }
}
