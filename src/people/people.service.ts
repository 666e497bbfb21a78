// Names for actor ids: the people directory every signed-in person may read (to see who wrote, approved or
// commented, and to mention someone) and the lookup views use to turn `user:<id>` / `token:<id>` into a Person.
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { ApiTokenEntity } from '../auth/api-token.entity';
import { UserEntity } from '../users/user.entity';
import { Mentionable, parseActor, Person, unknownPerson, userActor } from './person';

export interface DirectoryEntry extends Person {
  /** Whether this person may approve (has the checker role): shown next to names when mentioning. */
  checker: boolean;
}

@Injectable()
export class PeopleService {
  constructor(private readonly dataSource: DataSource) {}

  /** Every enabled user, by name. No roles beyond "checker", no other fields. */
  async directory(): Promise<DirectoryEntry[]> {
    const users = await this.dataSource.manager.find(UserEntity, {
      where: { disabled: false },
      select: { id: true, name: true, email: true, roles: true },
      order: { name: 'ASC' },
    });
    return users.map((u) => ({
      id: userActor(u.id),
      name: u.name,
      email: u.email,
      checker: u.roles.includes('checker'),
    }));
  }

  /** Users that a mention can name (enabled users, by their plain ids). */
  async mentionable(m: EntityManager = this.dataSource.manager): Promise<Mentionable[]> {
    const users = await m.find(UserEntity, {
      where: { disabled: false },
      select: { id: true, name: true, email: true },
    });
    return users.map((u) => ({ id: u.id, name: u.name, email: u.email }));
  }

  /** A Person for each actor id given; unknown ones get a readable stand-in, never an error. */
  async resolve(
    actors: Iterable<string>,
    m: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, Person>> {
    const users = new Set<string>();
    const tokens = new Set<string>();
    const all = [...new Set(actors)].filter((a) => typeof a === 'string' && a !== '');
    for (const a of all) {
      const p = parseActor(a);
      if (p?.kind === 'user') users.add(p.id);
      else if (p?.kind === 'token') tokens.add(p.id);
    }
    const [us, ts] = await Promise.all([
      users.size
        ? m.find(UserEntity, { where: { id: In([...users]) }, select: { id: true, name: true, email: true } })
        : [],
      tokens.size
        ? m.find(ApiTokenEntity, { where: { id: In([...tokens]) }, select: { id: true, name: true } })
        : [],
    ]);
    const found = new Map<string, Person>();
    for (const u of us) found.set(`user:${u.id}`, { id: `user:${u.id}`, name: u.name, email: u.email });
    for (const t of ts)
      found.set(`token:${t.id}`, { id: `token:${t.id}`, name: `token “${t.name}”`, email: null });
    const out = new Map<string, Person>();
    for (const a of all) {
      const p = parseActor(a);
      const key = p ? `${p.kind}:${p.id}` : a;
      out.set(a, found.get(key) ?? unknownPerson(a));
    }
    return out;
  }
}
