import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Put, Query, Res, UseGuards } from '@nestjs/common';
import { IsOptional, IsString } from 'class-validator';
import type { FastifyReply } from 'fastify';
import type { HashingAlgorithm, UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser, Requires } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ListQuery, paged } from '../http/pagination';
import { RabbitBody } from '../http/rabbit-body.pipe';
import { ManagementService } from '../management.service';
import type { Paged, PermissionDto, UserDto, VhostDto } from '../dto';
import { permissionView, userView, vhostView } from '../views/rabbit-views';

export class VhostBody {
  @IsOptional() @IsString() description?: string;
  @IsOptional() tags?: string | string[];
  @IsOptional() @IsString() default_queue_type?: string;
}

export class UserBody {
  @IsOptional() @IsString() password?: string;
  @IsOptional() @IsString() password_hash?: string;
  @IsOptional() @IsString() hashing_algorithm?: string;
  @IsOptional() tags?: string | string[];
}

export class PermissionBody {
  @IsString() configure!: string;
  @IsString() write!: string;
  @IsString() read!: string;
}

/** RabbitMQ sends tags as a comma-separated string or an array. */
export const tagsOf = (tags: string | string[] | undefined): string[] =>
  (Array.isArray(tags) ? tags : (tags ?? '').split(',')).map((t) => t.trim()).filter((t) => t !== '');

/**
 * Vhosts, users and permissions, as RabbitMQ's /api/vhosts, /api/users, /api/permissions: for
 * administrators only, but the list of vhosts (each user sees those it has permissions in,
 * monitoring users all).
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
@Requires('administrator')
export class AccessController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
  ) {}

  // ---- vhosts ----------------------------------------------------------------------------------

  @Get('vhosts')
  @Requires('management')
  vhosts(@CurrentUser() user: UserDefinition, @Query() query: ListQuery): Paged<VhostDto> {
    const listed = this.m.broker.snapshot().vhosts.filter((v) => this.authz.listsVhost(user, v.name));
    return paged(listed.map((v) => vhostView(v, this.m.sampler.vhostDepthRates(v.name))).sort((a, b) => a.name.localeCompare(b.name)), query);
  }

  @Get('vhosts/:vhost')
  vhost(@Param('vhost') name: string): VhostDto {
    const snapshot = this.m.vhost(name).snapshot();
    return vhostView(snapshot, this.m.sampler.vhostDepthRates(name));
  }

  @Put('vhosts/:vhost')
  async putVhost(@CurrentUser() user: UserDefinition, @Param('vhost') name: string, @Body(RabbitBody) _body: VhostBody, @Res() reply: FastifyReply): Promise<void> {
    const existed = this.m.broker.vhost(name) !== undefined;
    this.m.broker.addVhost(name);
    // as RabbitMQ: whoever creates a vhost gets full permissions in it (else it could not use it)
    if (!existed) this.m.broker.users.setPermission({ user: user.name, vhost: name, configure: '.*', write: '.*', read: '.*' });
    await this.m.broker.whenDurable();
    void reply.code(existed ? 204 : 201).send();
  }

  @Delete('vhosts/:vhost')
  @HttpCode(204)
  async deleteVhost(@Param('vhost') name: string): Promise<void> {
    this.m.broker.getVhost(name);
    for (const session of this.m.sessions()) if (session.vhost === name) this.m.broker.sessions.close(session.id, `vhost '${name}' is deleted`);
    this.m.broker.deleteVhost(name);
    await this.m.broker.whenDurable();
  }

  @Get('vhosts/:vhost/permissions')
  vhostPermissions(@Param('vhost') name: string): PermissionDto[] {
    this.m.vhost(name);
    return this.m.broker.users.listPermissions().filter((p) => p.vhost === name).map(permissionView);
  }

  // ---- users -----------------------------------------------------------------------------------

  @Get('users')
  users(@Query() query: ListQuery): Paged<UserDto> {
    return paged(this.m.broker.users.list().map(userView), query);
  }

  @Get('users/without-permissions')
  usersWithoutPermissions(): UserDto[] {
    const withPermissions = new Set(this.m.broker.users.listPermissions().map((p) => p.user));
    return this.m.broker.users.list().filter((u) => !withPermissions.has(u.name)).map(userView);
  }

  @Get('users/:user')
  user(@Param('user') name: string): UserDto {
    const user = this.m.broker.users.get(name);
    if (user === undefined) throw new NotFoundException('Not Found');
    return userView(user);
  }

  @Put('users/:user')
  async putUser(@Param('user') name: string, @Body(RabbitBody) body: UserBody, @Res() reply: FastifyReply): Promise<void> {
    const existing = this.m.broker.users.get(name);
    let secret: { passwordHash: string; algorithm: HashingAlgorithm };
    // bcrypt on a worker thread: ~100 ms the event loop would otherwise stand still
    if (body.password !== undefined) secret = { passwordHash: await this.m.broker.users.hashPassword(body.password), algorithm: 'bcrypt' };
    else if (body.password_hash !== undefined) {
      // RabbitMQ's default when the hash comes without its algorithm is its own SHA-256 scheme
      const algorithm = (body.hashing_algorithm ?? (BCRYPT.test(body.password_hash) ? 'bcrypt' : 'rabbit_password_hashing_sha256')) as HashingAlgorithm;
      secret = { passwordHash: body.password_hash, algorithm };
    } else if (existing !== undefined) secret = { passwordHash: existing.passwordHash, algorithm: existing.hashingAlgorithm ?? 'bcrypt' };
    else throw new BadRequestException('password or password_hash is required for a new user');
    const created = this.m.broker.users.put(name, secret, tagsOf(body.tags));
    await this.m.broker.whenDurable();
    void reply.code(created ? 201 : 204).send();
  }

  @Delete('users/:user')
  @HttpCode(204)
  async deleteUser(@Param('user') name: string): Promise<void> {
    this.m.broker.users.delete(name);
    await this.m.broker.whenDurable();
  }

  @Get('users/:user/permissions')
  userPermissions(@Param('user') name: string): PermissionDto[] {
    if (this.m.broker.users.get(name) === undefined) throw new NotFoundException('Not Found');
    return this.m.broker.users.listPermissions().filter((p) => p.user === name).map(permissionView);
  }

  // ---- permissions -----------------------------------------------------------------------------

  @Get('permissions')
  permissions(): PermissionDto[] {
    return this.m.broker.users.listPermissions().map(permissionView);
  }

  @Get('permissions/:vhost/:user')
  permission(@Param('vhost') vhost: string, @Param('user') user: string): PermissionDto {
    const permission = this.m.broker.users.permission(vhost, user);
    if (permission === undefined) throw new NotFoundException('Not Found');
    return permissionView(permission);
  }

  @Put('permissions/:vhost/:user')
  async putPermission(@Param('vhost') vhost: string, @Param('user') user: string, @Body(RabbitBody) body: PermissionBody, @Res() reply: FastifyReply): Promise<void> {
    this.m.vhost(vhost);
    const created = this.m.broker.users.setPermission({ user, vhost, configure: body.configure, write: body.write, read: body.read });
    await this.m.broker.whenDurable();
    void reply.code(created ? 201 : 204).send();
  }

  @Delete('permissions/:vhost/:user')
  @HttpCode(204)
  async deletePermission(@Param('vhost') vhost: string, @Param('user') user: string): Promise<void> {
    this.m.broker.users.clearPermission(vhost, user);
    await this.m.broker.whenDurable();
  }
}

const BCRYPT = /^\$2[abxy]?\$/;
