#pragma once
// What a served event means for the user's online recommendations. Each event type maps to a
// weight (positive: the user wants more like it; negative: less), scaled by the event's value.
// Per item, the weights of the user's events add up:
//   - a net positive item joins the history the model folds in, with that weight;
//   - a net negative item is feedback against it: it is never recommended to the user, it is
//     taken out of the folded-in history (also when it was in the training history), and it is
//     not used as a source of "similar" items;
//   - every item with events is excluded from the user's answers (it has been seen).
// The defaults below can be replaced per server (`reckon serve --event-weights`).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reckon {

class EventWeights {
 public:
  // purchase 3, like/love/favorite/add_to_cart/bookmark/share 2, view/read/play/listen/click/
  // watch/rating 1 (a rating's value is its weight), skip -0.5, dislike/hide/remove -2; others 1.
  EventWeights();
  // "type=weight,type=weight,*=default" over the defaults; throws InvalidInput naming the bad
  // part (a weight must be a finite number within +-1000).
  static EventWeights parse(std::string_view spec);

  double weight(std::string_view type, double value) const;
  double type_weight(std::string_view type) const;
  // "purchase=3,like=2,...,*=1", for logs and /health.
  std::string describe() const;

 private:
  std::vector<std::pair<std::string, double>> types_;  // few: a linear scan beats a hash
  double default_ = 1.0;
};

}  // namespace reckon
