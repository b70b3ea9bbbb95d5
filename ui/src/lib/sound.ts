// Confirmation and error tones, generated (nothing to bundle, nothing fetched).
let ctx: AudioContext | null = null;

/** Counts of tones played; tests read it, people never see it. */
export const toneLog: { ok: number; error: number } = { ok: 0, error: 0 };

function tone(freq: number, ms: number, type: OscillatorType, gain = 0.2): void {
  try {
    ctx ??= new AudioContext();
    const osc = ctx.createOscillator();
    const g = ctx.createGain();
    osc.type = type;
    osc.frequency.value = freq;
    g.gain.value = gain;
    osc.connect(g).connect(ctx.destination);
    const now = ctx.currentTime;
    g.gain.setValueAtTime(gain, now + ms / 1000 - 0.01);
    g.gain.linearRampToValueAtTime(0, now + ms / 1000);
    osc.start(now);
    osc.stop(now + ms / 1000);
  } catch {
    // No audio device: the visual feedback still stands.
  }
}

/** Short high beep: the scan counted. */
export function okTone(): void {
  toneLog.ok++;
  tone(1760, 80, 'sine');
}

/** Long low buzz: the scan was refused. */
export function errorTone(): void {
  toneLog.error++;
  tone(180, 450, 'square', 0.25);
}
