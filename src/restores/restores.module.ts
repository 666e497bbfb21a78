import { Module, OnModuleInit } from '@nestjs/common';
import { unprocessable } from '../common/errors';
import { ArchiveModule } from '../archive/archive.module';
import { ArchiveReader } from '../archive/archive.reader';
import { BackupsModule } from '../backups/backups.module';
import { BackupsService } from '../backups/backups.service';
import { plugRestoreSource } from '../operations/builtin.operations';
import { SnapshotsService } from '../snapshots/snapshots.service';
import { PointInTimeRestore } from './point-in-time.restore';

/**
 * Plugs the moment sources of `tenant.restore` ({pointInTime}, {backupId}) into the operation, reading the
 * continuous archive (src/archive). The default source (the soft-delete snapshot) stays built in.
 */
@Module({ imports: [BackupsModule, ArchiveModule] })
export class RestoresModule implements OnModuleInit {
  constructor(
    private readonly snapshots: SnapshotsService,
    private readonly backups: BackupsService,
    private readonly reader: ArchiveReader,
  ) {}

  onModuleInit(): void {
    const handler = new PointInTimeRestore(this.reader, this.snapshots, (id) => this.backupMoment(id));
    plugRestoreSource('point_in_time', handler);
    plugRestoreSource('backup', handler);
  }

  /** A backup's moment: when it started (its one consistent read). Only complete backups count. */
  private async backupMoment(id: string): Promise<Date> {
    const m = (await this.backups.manifests()).find((x) => x.id === id);
    if (!m || m.status !== 'complete') {
      throw unprocessable(
        'CHANGE_REQUEST.INVALID_PARAMS',
        `params.source.backupId: no complete backup ${id}`,
        [
          {
            field: 'params.source.backupId',
            reason: m ? 'that backup is still being written' : 'no such backup',
          },
        ],
      );
    }
    return new Date(m.createdAt);
  }
}
