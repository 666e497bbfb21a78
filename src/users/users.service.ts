import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { hashPassword } from '../auth/password.hasher';
import { SessionEntity } from '../auth/session.entity';
import { conflict, notFound, unprocessable } from '../common/errors';
import { Role } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { UserEntity } from './user.entity';

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  disabled: boolean;
  createdAt: Date;
}

export const toPublicUser = (u: UserEntity): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  roles: u.roles,
  disabled: u.disabled,
  createdAt: u.createdAt,
});

@Injectable()
export class UsersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
  ) {}

  async create(
    actor: string,
    input: { email: string; name: string; password: string; roles: Role[] },
  ): Promise<PublicUser> {
    const passwordHash = await hashPassword(input.password);
    const email = input.email.trim().toLowerCase();
    return this.tx.run(async (tx) => {
      if (await tx.manager.exists(UserEntity, { where: { email } })) {
        throw conflict('USER.EMAIL_TAKEN', `email: a user with this email already exists`, [
          { field: 'email', reason: 'already exists' },
        ]);
      }
      const user = Object.assign(new UserEntity(), {
        id: randomUUID(),
        email,
        name: input.name.trim(),
        passwordHash,
        roles: [...new Set(input.roles)],
        disabled: false,
        createdAt: tx.now,
        updatedAt: tx.now,
      });
      await tx.manager.insert(UserEntity, user);
      tx.audit({
        actor,
        action: 'user.created',
        entityType: 'user',
        entityId: user.id,
        data: { roles: user.roles },
      });
      tx.emit({
        type: 'user.created',
        entityType: 'user',
        entityId: user.id,
        actor,
        data: { roles: user.roles },
      });
      return toPublicUser(user);
    });
  }

  async list(): Promise<PublicUser[]> {
    const users = await this.dataSource
      .getRepository(UserEntity)
      .find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return users.map(toPublicUser);
  }

  async get(id: string): Promise<PublicUser> {
    const user = await this.dataSource.getRepository(UserEntity).findOne({ where: { id } });
    if (!user) throw notFound('USER.NOT_FOUND', `No user ${id}`);
    return toPublicUser(user);
  }

  async update(
    actor: string,
    actorUserId: string | null,
    id: string,
    patch: { name?: string; roles?: Role[]; disabled?: boolean },
  ): Promise<PublicUser> {
    return this.tx.run(async (tx) => {
      const user = await tx.manager.findOne(UserEntity, { where: { id } });
      if (!user) throw notFound('USER.NOT_FOUND', `No user ${id}`);
      // An admin cannot lock themself out; another admin has to do it.
      if (
        actorUserId === id &&
        (patch.disabled === true || (patch.roles && !patch.roles.includes('admin')))
      ) {
        throw unprocessable(
          'USER.SELF_LOCKOUT',
          'You cannot disable yourself or remove your own admin role',
          [{ field: patch.disabled === true ? 'disabled' : 'roles', reason: 'would lock you out' }],
        );
      }
      const before = { roles: user.roles, disabled: user.disabled };
      if (patch.name !== undefined) user.name = patch.name.trim();
      if (patch.roles !== undefined) user.roles = [...new Set(patch.roles)];
      if (patch.disabled !== undefined) user.disabled = patch.disabled;
      user.updatedAt = tx.now;
      await tx.manager.save(UserEntity, user);
      if (user.disabled) {
        await tx.manager.update(SessionEntity, { userId: id, revokedAt: IsNull() }, { revokedAt: tx.now });
      }
      const data = { before, after: { roles: user.roles, disabled: user.disabled } };
      tx.audit({ actor, action: 'user.updated', entityType: 'user', entityId: id, data });
      tx.emit({ type: 'user.updated', entityType: 'user', entityId: id, actor, data });
      return toPublicUser(user);
    });
  }

  async count(): Promise<number> {
    return this.dataSource.getRepository(UserEntity).count();
  }
}
