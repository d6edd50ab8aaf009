import type { JSX } from 'preact';
import { useId } from 'preact/hooks';

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onInput'>;

/** A labelled input (the label is always visible: placeholders are not labels), with an optional hint. */
export function Field(props: InputProps & { label: string; hint?: string; value: string; onValue: (value: string) => void }) {
  const { label, hint, value, onValue, ...input } = props;
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(event) => onValue(event.currentTarget.value)} aria-describedby={hintId} {...input} />
      {hint && <p id={hintId} class="muted small">{hint}</p>}
    </div>
  );
}
