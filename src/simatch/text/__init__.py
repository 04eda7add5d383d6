"""The Finnish/English/Swedish text toolbox behind the ``TextAnalyzer`` port: language, lemmas,
dictionaries, sparse vectors; ``factory`` builds the analyzer (heavy parts load on first use)."""

from simatch.text.analyzer import LexicalAnalyzer, build_analyzer, explain_terms
from simatch.text.concepts import ConceptVocabulary
from simatch.text.dictionary import BilingualDictionary
from simatch.text.language import LanguageDetector, detect_language
from simatch.text.lemmas import (
    Lemmatizer,
    SimplemmaLemmatizer,
    Token,
    VoikkoLemmatizer,
    make_lemmatizer,
)
from simatch.text.sparse import SparseEncoder, term_index

__all__ = [
    "BilingualDictionary",
    "ConceptVocabulary",
    "LanguageDetector",
    "Lemmatizer",
    "LexicalAnalyzer",
    "SimplemmaLemmatizer",
    "SparseEncoder",
    "Token",
    "VoikkoLemmatizer",
    "build_analyzer",
    "detect_language",
    "explain_terms",
    "make_lemmatizer",
    "term_index",
]
