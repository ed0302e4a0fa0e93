export * from './broker-config';
export * from './broker-config.module';
export * from './load-config';
export * from './configured-users';
