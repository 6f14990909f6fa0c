"""Word lists for person names in code: common given names (to trust a generic `name` field) and words
that are capitalised in code but are not names (to reject "Run Tests" or "Python Software Foundation")."""

GIVEN_NAMES = frozenset("""
aaron abigail adam adrian ahmed aisha alan albert alejandro alex alexander alexandra alice alicia amanda amelia amy
ana andrea andrew andy angela anna anne anthony antonio arjun arthur ashley barbara ben benjamin beth bill bob brandon
brian bruce carl carla carlos carmen carol caroline catherine charles charlie charlotte chen chloe chris christian
christina christine christopher claire claudia colin craig dan daniel david deborah denise dennis diana diego dimitri
donald donna dorothy doug douglas dylan ed edward elena elizabeth ella emily emma eric erik ethan eva evan fatima
felix fernando fiona frank fred gabriel gary george gerald giulia grace greg gregory hannah hans harry heather helen
henry hiroshi hugo ian igor isabel isabella ivan jack jacob james jamie jan jane janet jason javier jean jeff jeffrey
jennifer jeremy jerry jessica jim jimmy joan joe john jonathan jorge jose joseph joshua juan julia julian julie
justin karen kate katherine kathleen kenji kevin kim kyle larry laura lauren leo leon li liam linda lisa logan
lorenzo louis lucas lucy luis luke maria marie mario mark martha martin mary matt matthew max maya megan melissa
michael michelle miguel mike mohammed mohammad muhammad nancy natalie nathan nicholas nick nicole noah nora olga
oliver olivia omar oscar pablo pamela patricia patrick paul paula pedro peter philip pierre priya rachel rahul raj
ralph raymond rebecca richard rick robert roberto robin roger ronald rosa ruth ryan sam samantha samuel sandra
sara sarah scott sean sebastian sergei sharon simon sofia sophia sophie stefan stephanie stephen steve steven susan
takeshi tanya teresa thomas tim timothy tina todd tom tony tyler valerie vanessa victor victoria vincent walter wei
william yuki yusuf zachary zoe
""".split())

# Capitalised words that make a phrase code or prose, not a person.
NOT_NAME_WORDS = frozenset("""
the this that these those a an and or of for to in on at by with from as is are be was were it its all any each
test tests testing run runs build builds make setup install update upgrade release deploy check checks lint format
get set add new old default main master base core common util utils helper helpers api app apps data file files
error errors warning warnings info debug log logs value values type types class object string number list dict map
python java javascript typescript node react vue angular django flask rust go ruby perl php linux windows mac macos
unix posix apache mozilla google microsoft apple amazon github gitlab software foundation inc corp corporation
ltd llc gmbh company project team group contributors authors developers community university institute labs
organization org association consortium open source license copyright all rights reserved free public version
user users admin administrator guest root system service server client host example sample demo foo bar baz
hello world todo fixme note see also return returns raise raises yield args kwargs parameters param params
true false none null nil unknown anonymous various others et al the end start stop begin first last next previous
north south east west new york san los las united states kingdom america europe
""".split())

ORG_WORDS = frozenset({"foundation", "inc", "corp", "corporation", "ltd", "llc", "gmbh", "company", "project",
                       "team", "group", "contributors", "authors", "developers", "community", "university",
                       "institute", "labs", "organization", "association", "consortium", "software", "systems",
                       "technologies", "limited", "co", "ag", "sa", "bv", "security", "enterprises",
                       "solutions", "networks", "media", "studios", "games", "bank", "holdings", "partners",
                       "consulting", "services", "industries", "international", "research", "laboratories",
                       "associates", "press", "publishing", "computing", "digital", "global"})
