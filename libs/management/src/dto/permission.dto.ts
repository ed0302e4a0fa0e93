/** What a user may do in a vhost, as RabbitMQ's /api/permissions: regular expressions over resource names. */
export interface PermissionDto {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
