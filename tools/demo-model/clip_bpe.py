"""CLIP byte-level BPE (transformers' slow CLIPTokenizer, no ftfy) for the demo grammar's plain text."""
import json
import re


def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ClipBPE:
    def __init__(self, folder, max_length=77):
        with open(f"{folder}/vocab.json", encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(f"{folder}/merges.txt", encoding="utf-8") as f:
            lines = f.read().split("\n")[1:]  # first line is a version comment
        self.ranks = {tuple(l.split()): i for i, l in enumerate(lines) if len(l.split()) == 2}
        self.byte_map = _bytes_to_unicode()
        self.bos = self.vocab["<|startoftext|>"]
        self.eos = self.vocab["<|endoftext|>"]
        self.pad = self.eos  # SD 1.x: pad_token is <|endoftext|>
        self.max_length = max_length
        # ASCII subset of CLIP's pattern (the demo grammar is lowercase ASCII).
        self.pattern = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")

    def _bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        return word

    def encode(self, text):
        """[bos] + tokens + [eos], truncated and padded to max_length with the pad id."""
        text = " ".join(text.lower().split())
        ids = []
        for piece in self.pattern.findall(text):
            piece = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            ids.extend(self.vocab[t] for t in self._bpe(piece))
        ids = [self.bos] + ids[: self.max_length - 2] + [self.eos]
        return ids + [self.pad] * (self.max_length - len(ids))
