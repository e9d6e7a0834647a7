"""Writes the BERT tokenizer fixtures VidTag's tokenizer tests compare against.

Run from this directory with the project's Python (transformers 5.x, tokenizers):
    python make_fixtures.py   (in a virtualenv with the packages named below)

Writes:
  vocab.txt            a small WordPiece vocabulary: specials, Chinese characters, English
                       words and ## pieces, full-width forms, punctuation, digits
  expected.json        for every test string, the ids that Hugging Face's slow, pure-Python
                       BERT tokenizer (BertTokenizerLegacy, the original BertTokenizer) gives,
                       with [CLS] ... [SEP], once lower-cased (do_lower_case=True, the
                       chinese-roberta-wwm-ext setting) and once cased (do_lower_case=False)
  hf/tokenizer.json    the tokenizer definition Hugging Face's fast BertTokenizer writes for
                       this vocabulary (lower-cased), to test loading a model directory's
                       tokenizer.json
"""

import json
import pathlib

from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

HERE = pathlib.Path(__file__).resolve().parent

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("，。！？、：；“”（）《》【】…")
CHINESE = list("我爱中文视频分类今天天气很好的是一个在有人这北京上海你世界")
ENGLISH = ["hello", "world", "helloworld", "python", "video", "the", "a", "cat", "cafe", "naive",
           "resume", "abc", "ab", "c", "un", "##able", "##happy", "play", "##ing", "##ed", "##s",
           "##ab", "##c", "##b", "##o", "##world", "##llo", "he", "##ll", "new", "##york",
           "café", "naïve", "Hello", "World", "Python", "ABC", "élan", "elan", "iphone", "##13",
           "20", "##22", "2022", "13", "1", "2", "3", "ok", "##ok"]
FULL_WIDTH = ["ａ", "ｂ", "##ｂ", "##ｃ", "Ａ", "##Ｂ", "##Ｃ", "１", "##２", "##３"]
OTHER = ["年", "月", "日", "😀"]


def vocabulary():
    tokens = SPECIALS + PUNCTUATION + CHINESE + ENGLISH + FULL_WIDTH + OTHER
    seen = set()
    unique = []
    for token in tokens:
        if token not in seen:
            seen.add(token)
            unique.append(token)
    return unique


CASES = [
    ("empty", ""),
    ("spaces only", "   \t\n "),
    ("chinese", "我爱中文视频分类"),
    ("chinese with punctuation", "今天天气很好。北京，上海！"),
    ("english", "Hello world"),
    ("english wordpieces", "unhappy playing played plays"),
    ("english unknown word", "zebra"),
    ("mixed", "中文ABC视频Python分类"),
    ("mixed no spaces", "我在NewYork看video"),
    ("digits", "2022年13月"),
    ("full-width letters and digits", "ＡＢＣ １２３"),
    ("full-width joined", "ＡＢＣ１２３"),
    ("full-width punctuation", "你好，世界！（视频）【分类】"),
    ("ideographic space", "中文\u3000视频"),
    ("emoji in vocab", "视频😀好"),
    ("emoji not in vocab", "视频🎬好"),
    ("emoji with modifiers", "👍🏻 ok"),
    ("emoji zwj sequence", "👨\u200d👩\u200d👧"),
    ("accents", "Café naïve résumé Élan"),
    ("accents combining", "cafe\u0301"),
    ("punctuation", "hello,world!(a)[b]{c}..."),
    ("ascii symbols", "a+b=c $3 #1 @ok ~"),
    ("unknown characters", "한국어 ß Ω"),
    ("control characters", "中\u0000文\ufffd视\u200b频\x07"),
    ("newlines and tabs", "hello\nworld\tpython\r\nok"),
    ("word of 100 characters", "ab" * 50),
    ("word of 101 characters", "ab" * 50 + "c"),
    ("word of 110 characters", "a" * 110),
    ("long word between words", "hello " + "b" * 120 + " world"),
    ("concatenated fields", "helloworld"),
    ("separately tokenised fields", "hello world"),
    ("special token literal", "a [MASK] b"),
    ("angle and quote marks", "《中文》“视频”"),
    ("ellipsis", "好…"),
]


def main():
    vocab = vocabulary()
    (HERE / "vocab.txt").write_text("".join(token + "\n" for token in vocab), encoding="utf-8")

    lower = BertTokenizerLegacy(vocab_file=str(HERE / "vocab.txt"), do_lower_case=True)
    cased = BertTokenizerLegacy(vocab_file=str(HERE / "vocab.txt"), do_lower_case=False)
    cases = []
    for name, text in CASES:
        cases.append({
            "name": name,
            "text": text,
            "lower": lower(text)["input_ids"],
            "cased": cased(text)["input_ids"],
            "lower_tokens": lower.convert_ids_to_tokens(lower(text)["input_ids"]),
        })
    with open(HERE / "expected.json", "w", encoding="utf-8") as out:
        json.dump({"generator": "transformers BertTokenizerLegacy (slow BertTokenizer)",
                   "cases": cases}, out, ensure_ascii=False, indent=1)
        out.write("\n")

    fast = BertTokenizer(vocab=str(HERE / "vocab.txt"), do_lower_case=True)
    (HERE / "hf").mkdir(exist_ok=True)
    fast.backend_tokenizer.save(str(HERE / "hf" / "tokenizer.json"))
    disagreements = [c["name"] for c in cases if fast(c["text"])["input_ids"] != c["lower"]]
    print(f"{len(cases)} cases; the fast tokenizer disagrees with the slow one on: {disagreements}")


if __name__ == "__main__":
    main()
