"""Word tables for the street-address detector: street types, states, countries, stop words."""

EN_TYPES = (
    "Street|St|Avenue|Ave|Av|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|"
    "Terrace|Ter|Terr|Close|Crescent|Cres|Highway|Hwy|Parkway|Pkwy|Circle|Cir|Square|Sq|Trail|Trl|"
    "Plaza|Plz|Alley|Row|Mews|Grove|Gardens|Gdns|Hill|Walk|Parade|Pde|Esplanade|Promenade|Loop|Pike|"
    "Turnpike|Expressway|Expy|Freeway|Fwy|Causeway|Crossing|Path|Ridge|View|Vale|Rise|Wynd|Quay|"
    "Embankment|Green|Park|Point|Heights|Junction|Bend|Cove|Creek|Glen|Harbor|Harbour|Hollow|Landing|"
    "Meadow|Meadows|Orchard|Pass|Run|Station|Summit|Trace|Vista|Wharf|Yard|Estate|Broadway|Str"
)

# The rest of the USPS street suffix table (Publication 28, appendix C1), plurals included.
# Many are ordinary nouns ("5 Great Lakes"), so a street ending in one needs more evidence
# than its house number (see `address.py`).
USPS_TYPES = (
    "Alleys|Anex|Annex|Arcade|Bayou|Beach|Bluff|Bluffs|Bottom|Branch|Bridge|Brook|Brooks|Burg|Burgs|"
    "Bypass|Camp|Canyon|Cape|Center|Centers|Circles|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|"
    "Course|Courts|Coves|Crest|Crossroad|Crossroads|Curve|Dale|Dam|Divide|Drives|Estates|Extension|"
    "Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge|Forges|Fork|Forks|"
    "Fort|Garden|Gateway|Glens|Greens|Groves|Harbors|Haven|Hills|Inlet|Island|Islands|Isle|Junctions|"
    "Key|Keys|Knoll|Knolls|Lake|Lakes|Land|Light|Lights|Loaf|Lock|Locks|Lodge|Mall|Manor|Manors|Mill|"
    "Mills|Mission|Motorway|Mount|Mountain|Mountains|Neck|Oval|Overpass|Parks|Parkways|Passage|Pine|"
    "Pines|Plain|Plains|Points|Port|Ports|Prairie|Radial|Ramp|Ranch|Rapid|Rapids|Rest|Ridges|River|"
    "Roads|Route|Rue|Shoal|Shoals|Shore|Shores|Skyway|Spring|Springs|Spur|Spurs|Squares|Stravenue|"
    "Stream|Streets|Throughway|Track|Trafficway|Trailer|Tunnel|Underpass|Union|Unions|Valley|Valleys|"
    "Viaduct|Views|Village|Villages|Ville|Walks|Wall|Ways|Well|Wells"
)

US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
    "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP|AA|AE|AP"
)

US_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|"
    "Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|"
    "Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New[ \t]Hampshire|New[ \t]Jersey|"
    "New[ \t]Mexico|New[ \t]York|North[ \t]Carolina|North[ \t]Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
    "Rhode[ \t]Island|South[ \t]Carolina|South[ \t]Dakota|Tennessee|Texas|Utah|Vermont|Virginia|"
    "Washington|West[ \t]Virginia|Wisconsin|Wyoming"
)

COUNTRIES = (
    "USA|U\\.S\\.A\\.|U\\.S\\.|United[ \t]States(?:[ \t]of[ \t]America)?|UK|U\\.K\\.|United[ \t]Kingdom|"
    "England|Scotland|Wales|Northern[ \t]Ireland|Ireland|Canada|Australia|New[ \t]Zealand|"
    "Germany|Deutschland|Austria|Österreich|Switzerland|Schweiz|Suisse|Svizzera|France|Belgium|Belgique|"
    "België|Netherlands|The[ \t]Netherlands|Nederland|Luxembourg|Spain|España|Portugal|Italy|Italia|"
    "Denmark|Danmark|Sweden|Sverige|Norway|Norge|Finland|Suomi|Iceland|Ísland|Poland|Polska|Czechia|"
    "Czech[ \t]Republic|Slovakia|Slovenia|Croatia|Hungary|Magyarország|Romania|Bulgaria|Greece|"
    "Cyprus[ \t]\\(Greek\\)|Cyprus|Estonia|Latvia|Lithuania|Turkey|Türkiye|Brazil|Brasil|Mexico|México|"
    "Argentina|Chile|Colombia|Peru|India|Japan|China|South[ \t]Africa|Tunisia|Morocco|Israel|Malta|"
    "Uruguay|Paraguay|Bolivia|Ecuador|Venezuela|Greenland|Faroe[ \t]Islands|Russia|Ukraine|Belarus|"
    "Moldova|Serbia|Montenegro|Bosnia[ \t]and[ \t]Herzegovina|North[ \t]Macedonia|Albania|Kosovo|Georgia|"
    "Armenia|Azerbaijan|Kazakhstan|Egypt|Algeria|Libya|Nigeria|Ghana|Kenya|Ethiopia|Tanzania|Uganda|"
    "Zimbabwe|Namibia|Botswana|Singapore|Malaysia|Indonesia|Thailand|Vietnam|Philippines|Pakistan|"
    "Bangladesh|Sri[ \t]Lanka|Nepal|South[ \t]Korea|Korea|Taiwan|Hong[ \t]Kong|Iran|Iraq|Jordan|Lebanon|"
    "Saudi[ \t]Arabia|United[ \t]Arab[ \t]Emirates|UAE|Qatar|Kuwait|Oman|Cuba|Jamaica|Puerto[ \t]Rico|"
    "Costa[ \t]Rica|Panama|Guatemala|Honduras|Nicaragua|El[ \t]Salvador|Dominican[ \t]Republic"
)

UK_AREA_CODES = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN "
    "EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK "
    "ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA "
    "TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
)

# A number right after one of these is a count, an index or a road number, not a house.
NOT_HOUSE_WORDS = (
    "chapter section sec page p pp part season episode ep level step phase version v ver top figure fig "
    "table tab lesson day week year route rte highway hwy interstate i us sr exit gate platform track "
    "apollo windows iphone ios android python java number no nr item items vol volume issue book act "
    "scene verse psalm rule article art clause paragraph para line row column col group team size "
    "type class grade score rank round game match bus flight train form schedule exercise problem question "
    "task lecture module stage sprint ticket case bug pr appendix annex channel model series mark gen"
)

# "2022 Nov 09", "19 May 2016": dates read like a number, a name and a number.
CALENDAR_WORDS = (
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august "
    "september october november december mon tue tues wed thu thur thurs fri sat sun monday tuesday "
    "wednesday thursday friday saturday sunday"
)

FUNCTION_WORD_LIST = (
    "a an the and or but of to in on at by for from with into onto over under down up off out as is are was "
    "were be been my your his her our their its this that these those i you he she we they it me him us them "
    "not no yes so very too also just only some any all each every many more most few less than then "
    "minutes minute mins min hours hour hrs days day weeks week months month years year miles mile km "
    "meters metres feet ft times people persons items steps blocks block doors houses stops turns"
)

# Latin with its extensions, Greek and Cyrillic.
_LETTERS = [*map(chr, range(0xC0, 0x530)), *map(chr, range(0x1E00, 0x1F00))]
UPPER = "A-Z" + "".join(ch for ch in _LETTERS if ch.isupper())
LOWER = "a-z" + "".join(ch for ch in _LETTERS if ch.islower())
APOSTROPHES = "'\u2019"
CAP_WORD = rf"[{UPPER}][\w{APOSTROPHES}\-]*"

# Type words a lowercase street may end in ("42 oak street"); the rest need capitals.
EN_LOWER_OK_WORDS = """
    street st avenue ave road rd lane ln drive dr boulevard blvd court ct terrace crescent highway hwy
    parkway pkwy circle cir square sq trail plaza place pl way close
"""

# A building number before a street written without a type word, then the house number:
# "637 Strojírenská 1006", "71236 Mühle 77", "449 Πεντέλης 210". Only taken where the
# address plainly goes on or stops (line end, punctuation, a unit, "St."), which a count
# in prose ("in 2010 Google sold 3 million") does not do.
LOWER_STREET_WORDS = (
    "vei|veg|gate|gata|tee|põik|tn|u\\.|utca|út|útja|tér|rakpart|sor|köz|cesta|ulica|ul\\.|"
    "trg|iela|sokak|nábřeží|náměstí|třída"
)

# Types written before the name (Romance, Slavic, Romanian...). Ones that are also English
# words count only when capitalised: "sent via Route 66" is no street.
LEAD_TYPES_ANY_CASE = (
    "rue|avenida|avda\\.?|boulevard|bd\\.?|bld\\.?|chemin|impasse|allée|allee|quai|faubourg|fbg\\.?|"
    "calle|c/|cl\\.|carrer|carretera|ctra\\.?|paseo|pº|camino|ronda|travesía|travesia|plaça|"
    "viale|v\\.le|piazza|p\\.za|piazzale|vicolo|corso|c\\.so|lungomare|strada|"
    "rua|r\\.|travessa|praça|praca|estrada|alameda|largo|"
    "ul\\.|ulica|al\\.|aleja|os\\.|osiedle|str\\.|bulevardul|calea|"
    "avenue|av\\.|ave\\.|"
)

LEAD_TYPES_CAPITALISED = (
    "Via|Place|Pl\\.|Plaza|Pza\\.?|Route|Rte\\.?|Passage|Square|Cours|Voie|Rambla|Piazzetta|"
    "R(?=[ \\t]+[A-ZÀ-Þ])|Rúa|Bairro|Zona|Colonia|Plazuela|Trg|Λεωφόρος|Οδός"
)

# Street words glued to the end of the name (DE, NL, Nordic, FI...), and the same words
# written apart after a name ("Berliner Straße", "Kossuth Lajos utca").
SUFFIXES = (
    "straße|strasse|str\\.|gasse|weg|allee|allé|platz|damm|ufer|chaussee|markt|steig|pfad|zeile|gürtel|"
    "straat|laan|plein|gracht|kade|singel|dijk|dreef|steeg|"
    "vej|gade|gata|gatan|gaten|vägen|väg|veien|vegen|stræde|torv|plads|gränd|braut|stígur|stíg|vegur|"
    "katu|tie|kuja|polku|väylä|kaari"
)

APART_TYPES = (
    "straße|strasse|str\\.|weg|allee|platz|gasse|damm|ufer|chaussee|markt|"
    "straat|laan|plein|gracht|kade|utca|u\\.|út|tér|körút|krt\\.|cesta|ulica|trg|iela|gatvė|tänav|mnt\\.?|"
    "sokak|sk\\.|caddesi|cad\\.|bulvar\u0131|soka\u011f\u0131|útja|vei|veg|tee|põik|rakpart|sor|köz|fasor"
)
