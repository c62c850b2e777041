// Browser phone: "Read turn N aloud" speaks that turn's sentences with the Web Speech API, each in
// its own language, and only when the button is pressed. Without speech synthesis the buttons stay hidden.
(function () {
  "use strict";
  if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance === "undefined") {
    return;
  }
  function voiceFor(lang) {
    var voices = window.speechSynthesis.getVoices();
    var exact = voices.filter(function (v) { return v.lang === lang; });
    if (exact.length) { return exact[0]; }
    var prefix = lang.split("-")[0];
    return voices.filter(function (v) { return v.lang.split("-")[0] === prefix; })[0] || null;
  }
  document.querySelectorAll("[data-read-aloud]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var turn = button.closest("[data-turn]");
      window.speechSynthesis.cancel();
      turn.querySelectorAll("[data-sentence]").forEach(function (item) {
        // The sentence without its "(en-US, while listening)" note.
        var text = item.firstChild ? item.firstChild.textContent.trim() : "";
        if (!text) { return; }
        var utterance = new SpeechSynthesisUtterance(text);
        utterance.lang = item.lang;
        var voice = voiceFor(item.lang);
        if (voice) { utterance.voice = voice; }
        window.speechSynthesis.speak(utterance);
      });
    });
  });
}());
