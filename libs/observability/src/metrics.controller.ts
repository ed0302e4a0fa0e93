import { Controller, Get, Header, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { MetricsService } from './metrics.service';

@Controller()
export class MetricsController {
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  /** Prometheus text exposition format. */
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.render();
    await reply.header('Content-Type', this.metrics.contentType()).send(body);
  }

  /** RabbitMQ's families with one sample per queue. */
  @Get('metrics/per-object')
  @Header('Cache-Control', 'no-store')
  perObject(@Res() reply: FastifyReply): void {
    void reply.header('Content-Type', this.metrics.contentType()).send(this.metrics.renderPerObject());
  }

  /** As RabbitMQ's /metrics/detailed: per-object families, optionally for some vhosts (`vhost=a&vhost=b`). */
  @Get('metrics/detailed')
  @Header('Cache-Control', 'no-store')
  detailed(@Query('vhost') vhost: string | string[] | undefined, @Res() reply: FastifyReply): void {
    const vhosts = vhost === undefined ? undefined : Array.isArray(vhost) ? vhost : [vhost];
    void reply.header('Content-Type', this.metrics.contentType()).send(this.metrics.renderPerObject(vhosts));
  }
}
