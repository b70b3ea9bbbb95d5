// A high-risk action that the server may refuse with `step_up_required`: ask for a fresh TOTP
// once, call `step_up`, and run the action again. The retry does not ask again (a second
// `step_up_required` is shown as an error, not another prompt). Pair with a PromptDialog:
//   <PromptDialog open={su.open} error={su.error} kind="totp" onsubmit={(v) => su.submit(v)} oncancel={() => su.cancel()} … />
import { ipc, AppError } from './ipc';
import { errorText } from './i18n/index.svelte';

export class StepUp {
  /** The TOTP prompt is showing. */
  open = $state(false);
  /** Why the last code was refused. */
  error = $state('');
  #pending: { action: () => Promise<void>; onError: (x: unknown) => void } | null = null;

  /** Runs `action`; a `step_up_required` refusal opens the prompt, anything else goes to `onError`. */
  async run(action: () => Promise<void>, onError: (x: unknown) => void, mayAsk = true): Promise<void> {
    try {
      await action();
    } catch (x) {
      if (mayAsk && x instanceof AppError && x.code === 'step_up_required') {
        this.#pending = { action, onError };
        this.error = '';
        this.open = true;
      } else {
        onError(x);
      }
    }
  }

  /** The code typed in the prompt: step up, then the action once more. */
  async submit(totp: string): Promise<void> {
    const p = this.#pending;
    if (!p) return;
    try {
      await ipc.stepUp(totp);
    } catch (x) {
      this.error = errorText(x);
      return;
    }
    this.cancel();
    await this.run(p.action, p.onError, false);
  }

  cancel(): void {
    this.open = false;
    this.#pending = null;
  }
}
