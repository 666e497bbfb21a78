import { findMentions, parseActor, unknownPerson } from './person';

const pat = { id: 'a', name: 'Pat', email: 'pat@example.com' };
const patLee = { id: 'b', name: 'Pat Lee', email: 'plee@example.com' };
const sam = { id: 'c', name: 'Sam Checker', email: 'sam.checker@example.com' };

describe('findMentions', () => {
  it('finds a full name, case-insensitive, and prefers the longest name', () => {
    expect(findMentions('@pat lee can you check wave 2?', [pat, patLee, sam]).map((p) => p.id)).toEqual([
      'b',
    ]);
    expect(findMentions('ping @Pat, and @Sam Checker.', [pat, patLee, sam]).map((p) => p.id)).toEqual([
      'a',
      'c',
    ]);
  });
  it('finds the local part of an email', () => {
    expect(findMentions('@sam.checker please', [pat, sam]).map((p) => p.id)).toEqual(['c']);
  });
  it('ignores email addresses, partial words and repeats', () => {
    expect(findMentions('mail pat@example.com or @Patrick', [pat])).toEqual([]);
    expect(findMentions('@Pat @pat @PAT', [pat]).map((p) => p.id)).toEqual(['a']);
  });
});

describe('actors', () => {
  it('parses users and tokens and names the unknown', () => {
    const id = '0b9f7f9e-8f55-4c39-9d53-2f4a1c1e0c11';
    expect(parseActor(`user:${id}`)).toEqual({ kind: 'user', id });
    expect(parseActor(`token:${id}`)).toEqual({ kind: 'token', id });
    expect(parseActor('system')).toBeNull();
    expect(unknownPerson(`user:${id}`).name).toBe('user 0b9f7f9e');
    expect(unknownPerson('system').name).toBe('Wavegate');
  });
});
