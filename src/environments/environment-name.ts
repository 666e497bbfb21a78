// What an environment may be called: the controller's DTOs and the signals DTO (a signal names its environment) share it.
export const ENVIRONMENT_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,99}$/;
