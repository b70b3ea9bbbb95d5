// App-wide state: who is signed in and the latest station status.
import type { AppInfo, StationStatus } from './ipc';

export const app = $state<{
  info: AppInfo | null;
  status: StationStatus | null;
  bootError: unknown;
}>({ info: null, status: null, bootError: null });
