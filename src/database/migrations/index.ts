import { Foundation1764400000000 } from './1764400000000-foundation';
import { TenantsChangeRequests1764400100000 } from './1764400100000-tenants-change-requests';
import { Flags1764400200000 } from './1764400200000-flags';
import { Webhooks1764400300000 } from './1764400300000-webhooks';
import { Rollouts1764400400000 } from './1764400400000-rollouts';
import { SignalEnvironment1764400500000 } from './1764400500000-signal-environment';
import { ChangeCapture1764400600000 } from './1764400600000-change-capture';
import { Providers1764401000000 } from './1764401000000-providers';
import { DataConnectors1764401100000 } from './1764401100000-data-connectors';
import { CommentsSlackLinks1764401300000 } from './1764401300000-comments-slack-links';
import { SlackLinkCodes1764401300001 } from './1764401300001-slack-link-codes';

// Every migration, in order. Migrations move forward only and are never edited once landed (STYLE.md habit 7).
export const MIGRATIONS = [
  Foundation1764400000000,
  TenantsChangeRequests1764400100000,
  Flags1764400200000,
  Webhooks1764400300000,
  Rollouts1764400400000,
  SignalEnvironment1764400500000,
  ChangeCapture1764400600000,
  Providers1764401000000,
  DataConnectors1764401100000,
  CommentsSlackLinks1764401300000,
  SlackLinkCodes1764401300001,
];
