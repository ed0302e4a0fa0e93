export { ManagementModule } from './management.module';
export { ManagementService } from './management.service';
export type * from './dto';
