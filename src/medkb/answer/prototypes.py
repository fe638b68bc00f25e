"""The curated emergency situations the semantic triage step compares a message with.

Each category lists short descriptions of that emergency *happening now*, in the words a
patient or a relative uses (first and third person, plain words rather than clinical
terms). :data:`CALM` lists, per category, what a message on the same topic looks like when
it is not an emergency (questions about signs, prevention, history, mild or chronic
complaints): a message must be nearer to an emergency than to these to count (see
:mod:`medkb.answer.semantic`). None of these texts is in ``tests/data/triage.jsonl``;
``tests/unit/test_triage.py`` checks that.
"""

from __future__ import annotations

#: Emergency situations per category.
SITUATIONS: dict[str, tuple[str, ...]] = {
    "cardiac": (
        "crushing chest pain spreading to my arm and jaw, sweating",
        "he is clutching his chest, grey, sweaty and feels sick",
        "heavy pressure in the chest that will not go away, short of breath",
        "I think I am having a heart attack right now",
        "she collapsed, has no pulse and is not breathing, we started CPR",
        "very high blood pressure with severe headache and chest pain",
    ),
    "stroke": (
        "her face has dropped on one side and her speech is slurred",
        "he suddenly cannot lift one arm and cannot get his words out",
        "sudden numbness of one side of the body and confusion",
        "sudden worst headache ever, like a thunderclap",
        "my father suddenly cannot speak or understand and his leg gave way",
    ),
    "breathing": (
        "I cannot breathe and my lips are turning blue",
        "severe asthma attack, the inhaler is not working, can only say a few words",
        "he is choking and cannot cough or speak",
        "my child is struggling to breathe, ribs sucking in with each breath",
        "oxygen saturation is very low and breathless at rest",
    ),
    "anaphylaxis": (
        "after eating nuts my throat is closing and my lips and tongue are swelling",
        "stung by a bee, face swelling, hives everywhere and hard to breathe",
        "severe allergic reaction, used the adrenaline pen and still wheezing",
        "swollen tongue and feeling faint after a new medicine",
    ),
    "bleeding": (
        "blood is spurting from a deep cut and will not stop with pressure",
        "vomiting large amounts of blood",
        "heavy bleeding soaking through towels, feeling faint",
        "stabbed and bleeding badly",
        "black tarry stools and dizzy, passing a lot of blood from the bottom",
    ),
    "poisoning": (
        "I took a whole bottle of pills",
        "my toddler swallowed tablets from the cupboard",
        "my child drank bleach or a cleaning product",
        "a child swallowed a button battery or magnets",
        "he took too many painkillers with alcohol and is very drowsy",
        "we all have headaches and feel sick near the gas boiler, carbon monoxide",
        "overdose on sleeping tablets",
    ),
    "seizure": (
        "he is having a seizure that has lasted more than five minutes",
        "she is shaking and jerking on the floor and not responding",
        "one fit after another without waking up in between",
        "my child is convulsing and going blue",
        "first ever seizure and still very confused afterwards",
    ),
    "glucose": (
        "diabetic with a very low blood sugar, sweating, shaking and confused",
        "blood sugar very high, vomiting and breathing fast, ketones",
        "diabetic and cannot be woken, sugar reading is very low",
        "took insulin without eating and now acting drunk and confused",
    ),
    "consciousness": (
        "she is unconscious and will not wake up",
        "collapsed and not responding to us",
        "suddenly very confused and does not know where he is",
        "extremely drowsy, cannot stay awake, hard to rouse",
        "elderly mother suddenly seeing things and not making sense",
    ),
    "head_spine": (
        "hit his head and now keeps vomiting and is very sleepy",
        "fell from a height and cannot feel or move his legs",
        "head injury, knocked out and now confused",
        "neck injury after a car crash with tingling in the arms",
        "head injury on blood thinners and headache getting worse",
    ),
    "sepsis": (
        "high fever with a rash that does not fade when pressed with a glass",
        "fever, stiff neck, headache and the light hurts the eyes",
        "fever, shivering, confused and very low blood pressure",
        "mottled cold skin, breathing fast and not passing urine",
        "fever during chemotherapy, shaking chills",
    ),
    "abdomen": (
        "severe pain in the lower right belly with fever and vomiting",
        "stomach rock hard and agonising pain",
        "belly swollen, vomiting and cannot pass wind or stool",
        "sudden severe pain in the testicle with vomiting",
        "severe abdominal pain going through to the back, vomiting",
    ),
    "vascular": (
        "sudden tearing pain in the chest going through to the back",
        "ripping pain between the shoulder blades",
        "swollen calf and now suddenly breathless with sharp chest pain",
        "sudden breathlessness and coughing blood after surgery or a long flight",
        "known aneurysm and sudden severe belly and back pain",
    ),
    "arrhythmia": (
        "heart racing very fast and feeling faint",
        "pulse is very slow and keeps nearly passing out",
        "fainted with palpitations, heart beating irregularly",
        "heart rate over 180 with chest pain and dizziness",
    ),
    "obstetric": (
        "pregnant and bleeding heavily",
        "waters broke too early in the pregnancy",
        "pregnant with a severe headache, flashing lights and swollen face",
        "baby has stopped moving in the womb",
        "just gave birth and bleeding a lot with clots",
        "early pregnancy with sharp one sided pain and shoulder tip pain, fainting",
    ),
    "infant": (
        "my baby under three months old has a fever",
        "newborn floppy, very sleepy and not feeding",
        "young baby grunting, blue around the lips",
        "baby with a bulging soft spot and high temperature",
        "newborn cold, pale and not waking for feeds",
    ),
    "burns": (
        "scalded with boiling water, large area blistering",
        "severe burn with white or charred skin",
        "breathed in smoke in a fire, hoarse voice and coughing",
        "electric shock with a burn",
        "chemical burn on the skin",
    ),
    "suicide": (
        "I want to kill myself tonight",
        "I am going to end my life, I have the pills ready",
        "she says she wants to die and has a plan",
        "I cut myself deeply and want to die",
        "my friend sent a goodbye message and is not answering",
    ),
    "heat_cold": (
        "collapsed in the heat, very hot skin, confused and not sweating",
        "heat stroke, vomiting and staggering",
        "very cold, shivering stopped, slurring and drowsy",
        "fell into icy water and now very cold and sleepy",
        "fingers frozen hard, white and numb after the cold",
    ),
    "eye": (
        "chemical splashed in the eye and it burns",
        "sudden loss of vision in one eye like a curtain",
        "something sharp went into the eye and vision is blurred",
        "sudden severe eye pain with halos, headache and vomiting",
        "new flashes and floaters with a shadow over the vision",
    ),
}

#: Non-urgent messages on each category's topic: informational, preventive, past or mild.
CALM: dict[str, tuple[str, ...]] = {
    "cardiac": (
        "what are the warning signs of a heart attack",
        "how to lower cholesterol and prevent heart disease",
        "my father had a heart attack years ago, what diet now",
        "chest muscle sore after exercise",
    ),
    "stroke": (
        "which signs point to a stroke",
        "how to prevent a stroke",
        "recovery and physiotherapy after a stroke",
    ),
    "breathing": (
        "how to use an inhaler",
        "what is a normal oxygen level",
        "mild cough and stuffy nose from a cold",
    ),
    "anaphylaxis": (
        "how to use an adrenaline pen",
        "mild hay fever and itchy eyes",
        "difference between allergy and anaphylaxis",
    ),
    "bleeding": (
        "stopping a nosebleed at home",
        "gums bleed a little when brushing",
        "small cut that bleeds a bit",
    ),
    "poisoning": (
        "what is the maximum dose of paracetamol",
        "how to store medicines away from children",
        "side effects of my medication",
    ),
    "seizure": (
        "what to do if someone has a seizure",
        "epilepsy medication and driving",
        "why do children get fever fits",
    ),
    "glucose": (
        "normal range for blood glucose",
        "eating well with type 2 diabetes",
        "symptoms of low blood sugar",
    ),
    "consciousness": (
        "common reasons people faint",
        "learning the recovery position",
        "always tired and sleepy after lunch",
    ),
    "head_spine": (
        "bumped my head, small lump, feel fine",
        "chronic neck and back pain",
        "signs of concussion",
    ),
    "sepsis": (
        "early signs of sepsis to look out for",
        "mild fever with a cold",
        "meningitis vaccine",
    ),
    "abdomen": (
        "bloating and gas after meals",
        "mild stomach cramps",
        "symptoms of appendicitis",
    ),
    "vascular": (
        "how to prevent blood clots on a flight",
        "explain an aortic aneurysm",
        "back ache from bad posture",
    ),
    "arrhythmia": (
        "normal resting pulse for adults",
        "occasional skipped heartbeat after coffee",
        "heart rate during exercise",
    ),
    "obstetric": (
        "foods to avoid while pregnant",
        "nausea in early pregnancy, what helps",
        "when will I feel the baby move",
    ),
    "infant": (
        "feeding schedule for a newborn",
        "baby vaccination schedule",
        "what is a normal temperature for a baby",
    ),
    "burns": (
        "how to treat a small burn",
        "sunburn peeling",
        "burning feeling when passing urine",
    ),
    "suicide": (
        "how to support a friend with depression",
        "suicide prevention resources",
        "feeling a bit down this week",
    ),
    "heat_cold": (
        "how to prevent heat exhaustion",
        "cold hands and feet",
        "how much water to drink in hot weather",
    ),
    "eye": (
        "itchy red eyes from hay fever",
        "dry eyes after screen work",
        "how often to get an eye test",
    ),
}
