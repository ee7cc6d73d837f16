"""The one error a recipe can raise: :class:`ConfigError`."""

from __future__ import annotations

class ConfigError(ValueError):
    """A recipe or override names an unknown key or carries a wrongly typed value.

    The message names the full dotted key, its source (recipe file and line, or
    ``override``) and, for unknown keys, the closest valid key.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> try:
        ...     load_recipe("grpo_math", overrides=["grpo.num_prompt_per_step=8"])
        ... except ConfigError as err:
        ...     print("did you mean grpo.num_prompts_per_step?" in str(err))
        True
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython and Jupyter show for this error: the one-line message, no traceback.

        The message already names the key, where its value came from and the fix; a
        traceback through rl_lab's loader would only bury it.
        """
        return [f"ConfigError: {self}"]
