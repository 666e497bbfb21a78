import { Foundation1764400000000 } from './1764400000000-foundation';

// Every migration, in order. Migrations move forward only and are never edited once landed (STYLE.md habit 7).
export const MIGRATIONS = [Foundation1764400000000];
