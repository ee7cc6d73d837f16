"""A character-level tokenizer with special tokens and a tiny chat template.

Real NeMo RL runs use a Hugging Face tokenizer and its Jinja chat template
(``policy.tokenizer.chat_template``). rl_lab replaces both with something you
can read in one sitting: every printable character is one token, and a handful
of ``<|...|>`` markers play the role of the chat template's role headers.

Rendering rules (one string per message, concatenated in order):

* system message:    ``<|system|>{content}``
* user message:      ``<|user|>{content}<|assistant|>`` -- the user turn ends with
  the assistant header (NeMo RL calls this ``add_generation_prompt``), so the
  tokens of an assistant message are exactly the tokens the model generates.
* assistant message: ``{content}<|eos|>``

Examples:
    >>> tok = CharTokenizer()
    >>> tok.apply_chat_template([{"role": "user", "content": "1+2"}])
    '<|user|>1+2<|assistant|>'
    >>> tok.decode(tok.encode("12"))
    '12'
"""

from __future__ import annotations

import string
from collections.abc import Sequence

PAD = "<|pad|>"
BOS = "<|bos|>"
EOS = "<|eos|>"
USER = "<|user|>"
ASSISTANT = "<|assistant|>"
SYSTEM = "<|system|>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, USER, ASSISTANT, SYSTEM)
CHARACTERS: str = string.digits + string.ascii_letters + " +-*/=?.,:;!'()[]_#|\n"


class CharTokenizer:
    """Character-level tokenizer with ``<|...|>`` special tokens.

    Attributes:
        vocab: List of token strings; the index is the token id.
        pad_token_id: Id of ``<|pad|>`` (0).
        eos_token_id: Id of ``<|eos|>``.
        bos_token_id: Id of ``<|bos|>``.

    Examples:
        >>> tok = CharTokenizer()
        >>> tok.encode("<|user|>7")  # 6 special tokens, then "0123456789..."
        [3, 13]
        >>> tok.vocab_size > 80
        True
    """

    def __init__(self) -> None:
        """Builds the fixed vocabulary (special tokens first, then characters).

        Examples:
            >>> CharTokenizer().pad_token_id
            0
        """
        self.vocab: list[str] = list(SPECIAL_TOKENS) + list(CHARACTERS)
        self._ids: dict[str, int] = {t: i for i, t in enumerate(self.vocab)}
        self.pad_token_id: int = self._ids[PAD]
        self.bos_token_id: int = self._ids[BOS]
        self.eos_token_id: int = self._ids[EOS]

    @property
    def vocab_size(self) -> int:
        """Number of tokens in the vocabulary.

        Returns:
            The vocabulary size.

        Examples:
            >>> CharTokenizer().vocab_size == len(CharTokenizer().vocab)
            True
        """
        return len(self.vocab)

    def token_id(self, token: str) -> int:
        """Returns the id of a single token string.

        Args:
            token: A special token such as ``"<|eos|>"`` or one character.

        Returns:
            The token id.

        Raises:
            KeyError: If ``token`` is not in the vocabulary.

        Examples:
            >>> CharTokenizer().token_id("<|eos|>")
            2
        """
        return self._ids[token]

    def encode(self, text: str) -> list[int]:
        """Turns text into token ids; ``<|name|>`` markers become one id each.

        Args:
            text: The string to encode.

        Returns:
            A list of token ids.

        Raises:
            ValueError: If the text has a character outside the vocabulary.

        Examples:
            >>> CharTokenizer().encode("ab") == [CharTokenizer().token_id("a"), CharTokenizer().token_id("b")]
            True
        """
        ids: list[int] = []
        i = 0
        while i < len(text):
            if text.startswith("<|", i):
                end = text.find("|>", i)
                special = text[i : end + 2] if end >= 0 else ""
                if special in self._ids:
                    ids.append(self._ids[special])
                    i = end + 2
                    continue
            ch = text[i]
            if ch not in self._ids:
                raise ValueError(f"character {ch!r} is not in the rl_lab vocabulary")
            ids.append(self._ids[ch])
            i += 1
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Turns token ids back into text.

        Args:
            ids: Token ids (a list or a 1-D tensor).
            skip_special_tokens: Drop ``<|...|>`` tokens from the output.

        Returns:
            The decoded string.

        Examples:
            >>> tok = CharTokenizer()
            >>> tok.decode(tok.encode("12<|eos|>"))
            '12'
        """
        out = []
        for i in ids:
            t = self.vocab[int(i)]
            if skip_special_tokens and t in SPECIAL_TOKENS:
                continue
            out.append(t)
        return "".join(out)

    def render_message(self, message: dict[str, str], add_generation_prompt: bool = False) -> str:
        """Renders one chat message to its template string.

        Args:
            message: A dict with ``role`` (system/user/assistant) and ``content``.
            add_generation_prompt: For user messages, append the assistant
                header so the model's reply follows directly.

        Returns:
            The rendered string for this message.

        Raises:
            ValueError: For an unknown role.

        Examples:
            >>> CharTokenizer().render_message({"role": "assistant", "content": "3"})
            '3<|eos|>'
        """
        role, content = message["role"], message["content"]
        if role == "system":
            return SYSTEM + content
        if role == "user":
            return USER + content + (ASSISTANT if add_generation_prompt else "")
        if role == "assistant":
            return content + EOS
        raise ValueError(f"unknown chat role {role!r}; expected system, user or assistant")

    def apply_chat_template(
        self,
        messages: Sequence[dict[str, str]],
        tokenize: bool = False,
        add_generation_prompt: bool = True,
    ) -> str | list[int]:
        """Renders a conversation with the rl_lab chat template.

        Args:
            messages: The conversation, oldest first.
            tokenize: Return token ids instead of the string.
            add_generation_prompt: End each user turn with the assistant header.

        Returns:
            The rendered string, or its token ids when ``tokenize`` is True.

        Examples:
            >>> CharTokenizer().apply_chat_template(
            ...     [{"role": "user", "content": "2+2"}, {"role": "assistant", "content": "4"}])
            '<|user|>2+2<|assistant|>4<|eos|>'
        """
        text = "".join(self.render_message(m, add_generation_prompt) for m in messages)
        return self.encode(text) if tokenize else text


class HFTokenizer(CharTokenizer):
    """Adapter giving a Hugging Face tokenizer the :class:`CharTokenizer` interface.

    Only for the ``full`` profile with ``policy.model_name`` set to a Hub model
    id (needs internet; documented, not tested). Messages keep rl_lab's textual
    template (the ``<|user|>`` markers become ordinary text), and the model's own
    EOS token ends assistant turns.

    Args:
        name: Hugging Face model or tokenizer id.

    Examples:
        >>> issubclass(HFTokenizer, CharTokenizer)
        True
    """

    def __init__(self, name: str) -> None:
        """Loads the Hugging Face tokenizer ``name``.

        Args:
            name: Model or tokenizer id.
        """
        from transformers import AutoTokenizer

        self.hf = AutoTokenizer.from_pretrained(name)
        self.eos_token_id = int(self.hf.eos_token_id)
        self.pad_token_id = int(self.hf.pad_token_id if self.hf.pad_token_id is not None else self.hf.eos_token_id)
        self.bos_token_id = int(self.hf.bos_token_id if self.hf.bos_token_id is not None else self.eos_token_id)
        self.vocab = []

    @property
    def vocab_size(self) -> int:
        """Vocabulary size of the wrapped tokenizer.

        Returns:
            Number of token ids.

        Examples:
            >>> HFTokenizer.vocab_size.__doc__ is not None
            True
        """
        return len(self.hf)

    def encode(self, text: str) -> list[int]:
        """Encodes text; rl_lab's ``<|eos|>`` marker maps to the model's EOS id.

        Args:
            text: Text to encode.

        Returns:
            Token ids (no special tokens added).

        Examples:
            >>> HFTokenizer.encode.__name__
            'encode'
        """
        parts = text.split(EOS)
        ids: list[int] = []
        for i, part in enumerate(parts):
            ids += self.hf.encode(part, add_special_tokens=False) if part else []
            if i < len(parts) - 1:
                ids.append(self.eos_token_id)
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Decodes token ids.

        Args:
            ids: Token ids.
            skip_special_tokens: Drop special tokens.

        Returns:
            The text.

        Examples:
            >>> HFTokenizer.decode.__name__
            'decode'
        """
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)
