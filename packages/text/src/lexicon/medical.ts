/**
 * The medical safe-list: words that look like PHI to the name and place rules but are clinical vocabulary.
 * Curated policy, not data from a standard: eponyms (kept only where the word is used as an eponym, see
 * EPONYM_HEADS), drug names commonly capitalised, scores and scales, and acronyms written in capitals.
 * A word here is never a NAME/CITY by lexicon or capitalisation alone; a title or context cue still wins
 * ("Dr. Parkinson" is a person).
 */

/** Words after an eponym that make it one: "Parkinson's disease", "Colles fracture", "Glasgow Coma Scale". */
export const EPONYM_HEADS = new Set(
  (
    'disease diseases syndrome syndromes sign signs test tests fracture fractures score scores scale scales ' +
    'classification criteria lymphoma sarcoma tumor tumour tumors tumours palsy reflex reflexes maneuver manoeuvre ' +
    'procedure operation repair phenomenon ulcer ulcers esophagus oesophagus node nodes cell cells catheter tube ' +
    'technique stage staging grade grading disorder disorders ' +
    'encephalopathy dementia anemia anaemia arteritis thyroiditis gland glands duct ducts canal space pouch triad ' +
    'coma fibers fibres plexus cyst cysts hernia aneurysm deformity dystrophy ataxia chorea ' +
    'lesion lesions nodule nodules incision'
  ).split(' '),
);

/** Eponyms and clinical proper nouns that are never patient names on their own evidence. */
export const SAFE_PROPER = new Set(
  (
    'parkinson parkinsons crohn crohns hodgkin hodgkins alzheimer alzheimers huntington huntingtons cushing cushings ' +
    'addison addisons graves hashimoto hashimotos kaposi kaposis wernicke korsakoff guillain barre barré tourette ' +
    'asperger ewing wilms paget pagets meniere ménière marfan klinefelter lyme babinski glasgow apgar gleason bosniak ' +
    'breslow fleischner lugano kellgren hounsfield doppler foley whipple nissen roux billroth hartmann colles ' +
    'barrett barretts raynaud raynauds sjogren sjögren sjogrens sjögrens bell bells down downs turner turners ' +
    'wilson wilsons reye reyes kawasaki takayasu behcet behçet still stills epstein barr cheyne stokes kussmaul ' +
    'murphy murphys mcburney rovsing trendelenburg valsalva heimlich seldinger swan ganz hickman port-a-cath ' +
    'bankart hill-sachs baker bakers morton mortons dupuytren dupuytrens osgood schlatter perthes legg-calve-perthes ' +
    'salter harris salter-harris weber garden gustilo schatzker neer lauge-hansen denis chance jefferson hangman ' +
    'hangmans bennett bennetts rolando monteggia galeazzi smith barton bartons lisfranc chopart jones maisonneuve ' +
    'tillaux segond stener pellegrini-stieda kienbock kienböck preiser freiberg kohler köhler sever scheuermann ' +
    'schmorl schmorls modic pfirrmann meyerding hoffa virchow virchows krukenberg klatskin ' +
    'bismarck couinaud morison morisons douglas pouch retzius santorini wirsung oddi vater treitz meckel meckels ' +
    'hirschsprung hirschsprungs zenker zenkers killian mallory weiss boerhaave schatzki plummer vinson menetrier ' +
    'ménétrier zollinger ellison peutz jeghers lynch gardner turcot cowden li fraumeni von hippel lindau willebrand ' +
    'recklinghausen sturge weber bourneville dandy walker chiari arnold moyamoya circle willis sylvian rolandic ' +
    'broca brocas wernickes monro luschka magendie galen virchow-robin batson bochdalek morgagni poland pancoast ' +
    'kerley hampton westermark fleischner golden ranke ghon rasmussen aschoff libman sacks osler janeway roth ' +
    'beck becks kussmauls ebstein fallot eisenmenger kartagener wegener churg strauss goodpasture caplan loeffler ' +
    'löffler hamman rich mounier kuhn swyer james bruce duke dukes tnm ann arbor rai binet durie salmon ' +
    'karnofsky ecog nyha killip timi grace child pugh meld ranson apache sofa qsofa wells geneva caprini ' +
    'chads chads2 cha2ds2-vasc hasbled has-bled nihss mrankin rankin hunt hess fisher spetzler martin thrombolysis ' +
    'bi-rads birads li-rads lirads pi-rads pirads ti-rads tirads lung-rads o-rads c-rads bosniak ' +
    'tylenol advil motrin aleve lipitor crestor zocor plavix eliquis xarelto coumadin lasix norvasc synthroid ' +
    'glucophage lantus humalog novolog keytruda opdivo herceptin avastin rituxan humira remicade enbrel ' +
    'prednisone medrol decadron zofran ativan xanax valium ambien zoloft prozac lexapro wellbutrin seroquel ' +
    'haldol keppra dilantin depakote lamictal neurontin lyrica tramadol ultram dilaudid percocet vicodin ' +
    'oxycontin narcan lovenox heparin augmentin keflex cipro levaquin zithromax bactrim flagyl vancomycin ' +
    'omnipaque isovue visipaque gadavist dotarem magnevist multihance eovist prohance optiray ultravist'
  ).split(/\s+/),
);

/** Capitalised acronyms and abbreviations of clinical text: never names or places. */
export const SAFE_ACRONYMS = new Set(
  (
    'CT MR MRI PET SPECT CTA MRA MRCP ERCP US XR CXR KUB DEXA DXA ECG EKG EEG EMG ECHO TTE TEE IVC SVC PA AP LAT ' +
    'PACS RIS HIS EHR EMR HL7 FHIR DICOM ICU CCU NICU PICU ER ED OR PACU SICU MICU HDU OPD IPD ' +
    'COPD CHF CAD CABG PCI STEMI NSTEMI MI ACS AF AFIB DVT PE CVA TIA ICH SAH SDH EDH TBI GCS NIHSS ' +
    'HTN DM IDDM NIDDM CKD ESRD AKI UTI URI GERD IBD IBS HIV AIDS HBV HCV TB MRSA VRE COVID SARS ' +
    'BMI BP HR RR SPO2 O2 IV IM PO PRN BID TID QID QD QHS HS NPO DNR DNI FULL CODE ' +
    'CBC BMP CMP LFT LFTS PT PTT INR ABG VBG CRP ESR BNP TSH HBA1C PSA CEA AFP CA125 LDH ALT AST ALP GGT ' +
    'RUQ LUQ RLQ LLQ RUL RML RLL LUL LLL CSF CNS PNS GI GU ENT OB GYN OBGYN HEENT ROS HPI PMH PSH FH SH ' +
    'IMPRESSION FINDINGS HISTORY TECHNIQUE COMPARISON INDICATION CONCLUSION ADDENDUM REPORT EXAM CLINICAL ' +
    'NOTE NOTES PLAN ASSESSMENT DIAGNOSIS PROCEDURE RESULT RESULTS SUMMARY MEDICATIONS ALLERGIES NKDA ' +
    'WNL NAD AAOX3 SOB DOE CP HA N/V LOC ROM AROM PROM ADL ADLS ' +
    'ASAP MOCA MMSE BIPAP CPAP PICC PEG TPN IP ASA NITRO TELE ' +
    'AI LLM API URL HTTP HTTPS JSON PDF USA UK EU NHS VA NIH FDA CDC WHO AMA ACR RSNA ESR ' +
    'LOINC SNOMED CPT ICD ICD10 HCPCS RADLEX UCUM NPI ' +
    // Labels of identifiers, never the person: 'My IBAN is ...' (Iban is also a first name).
    'IBAN BIC SWIFT SSN MRN DOB ZIP PIN CVV VAT EIN TIN'
  ).split(/\s+/),
);

/** Dose and measurement units: a capitalised word right before a number and one of these is a drug, not a name. */
export const UNITS_RE =
  /^\s*(?:\p{Ll}+\s+)?\d+(?:[.,/]\d+)*\s*(?:mg|mcg|µg|ug|g|kg|ml|mL|l|L|units?|iu|IU|mmol|meq|mEq|%|cc|mm|cm|tabs?|caps?)\b/u;

/** Latin anatomical and clinical words written in lower case: never names or places by the lower-case rules. */
export const LATIN_CLINICAL = new Set(
  (
    'vena venae cava cavae dura mater pia arachnoid situs inversus solitus ambiguus genu hallux valgus varus ' +
    'pectus excavatum carinatum corpus callosum corpora cavernosa spongiosum sella turcica cauda equina conus ' +
    'medullaris foramen foramina magnum ovale rotundum spinosum lamina laminae bursa ileum jejunum cecum caecum ' +
    'pylorus fundus antrum vas deferens os ossa calcis talus dens pons medulla oblongata thalamus putamen insula ' +
    'cuneus precuneus vermis uvula velum hilum hila carina pleura aorta ductus arteriosus venosus ligamentum ' +
    'teres flavum nuchae pars interarticularis tuberosity tuber cinereum septum pellucidum falx cerebri tentorium ' +
    'cerebelli sinus sinuses confluens circulus arteriosus vasa recta previa placenta accreta percreta increta ' +
    'cor pulmonale bovis triloculare truncus brachiocephalicus ramus rami crus crura plexus choroid ' +
    'in situ vivo vitro utero toto extremis loco per se ad hoc libitum lib prn status post epilepticus ' +
    'et al etc vs viz cf ibid sic bid tid qid qd qhs hs stat ' +
    'melena hematochezia hematemesis hemoptysis hematuria dysuria dyspnea dyspnoea orthopnea syncope emesis ' +
    'hilar perihilar subcarinal paratracheal spiculated hypodense hyperdense isodense hypoechoic hyperechoic ' +
    'anechoic hypoattenuating hyperattenuating adenopathy lymphadenopathy troponin creatinine bilirubin albumin ' +
    'lipase amylase ferritin procalcitonin'
  ).split(/\s+/),
);
